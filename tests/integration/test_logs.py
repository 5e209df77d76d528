"""A container's log kept byte for byte as the program printed it, through the CLI with the
local engine: '\\r' redraws, other characters Python would call line ends, a byte that
is not UTF-8 (stored in a database too), a line longer than
the engine's 16 KiB pieces and a last line without '\\n'; the score found after a '\\r'.
(tests/integration/test_swarm.py runs the same job on a swarm.)"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.docker

PRINTS = r"""
name: {study}
objective: {{container: main, regex: 'SET: ([0-9.]+) requests per second'}}
parameters: {{n: {{enum: [1]}}}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'printf "SET: rps=1\r    \rSET: 110864.74 requests per second\nx\013y\034z\342\200\250w\302\205v \377\n"; head -c 20000 /dev/zero | tr "\0" a; printf "\rlast"']
  timeout: 60s
"""
# Except the byte 0xff: the engine's json-file log driver keeps text as JSON strings and gives
# it back as U+FFFD (tuner keeps what the engine has; the unit tests feed it raw bytes).
PRINTED = (b"SET: rps=1\r    \rSET: 110864.74 requests per second\n"
           b"x\x0by\x1cz\xe2\x80\xa8w\xc2\x85v \xef\xbf\xbd\n" + b"a" * 20000 + b"\rlast")


def test_log_is_kept_as_printed(busybox, write_job, run_cli, capsys, tmp_path):
    job = write_job(PRINTS.format(study="printed", image=busybox))
    assert run_cli("optimize", str(job), "--n-trials", "1", "--json") == 0
    assert json.loads(capsys.readouterr().out)["value"] == 110864.74
    folder = tmp_path / "results" / "printed" / "0"
    assert (folder / "main.log").read_bytes() == PRINTED
    rows = PRINTED.split(b"\n")  # merged.log: one row per line the program ended
    assert (folder / "merged.log").read_bytes() == b"".join(b"main | " + r + b"\n"
                                                            for r in rows)
