"""A container's log read back from the engine's stamped stream byte for byte (the local
runner's and the swarm runner's, which the engine formats alike), and the score read from
output that redraws its line with '\\r'. The streams are as the engine sent them here
(dockerd 20.10, json-file; a swarm service's logs) for the same printf."""

from __future__ import annotations

import calendar

import pytest

from tuner.collect.logs import write_logs
from tuner.collect.outcome import failure_reason
from tuner.collect.score import extract_score
from tuner.errors import TrialFailed
from tuner.job import parse_job
from tuner.job.model import Objective
from tuner.runner import ContainerRun, TrialRun
from tuner.runner import docker as local_runner
from tuner.runner import swarm as swarm_runner
from tuner.runner.logs import PIECE

S = b"2026-12-06T11:35:58.405000605Z "
PRINTED = (b"SET: rps=1\r    \rSET: 110864.74 requests per second\n"
           b"x\x0by\x1cz\xe2\x80\xa8w\xc2\x85v\n\nbad \xff byte\nlast")
STREAM = (S + b"SET: rps=1\r    \rSET: 110864.74 requests per second\n"
          + S + b"x\x0by\x1cz\xe2\x80\xa8w\xc2\x85v\n" + S + b"\n" + S + b"bad \xff byte\n"
          + S + b"last")

PARSERS = [local_runner.parse_log, swarm_runner.parse_log]


def as_bytes(c: ContainerRun) -> bytes:
    return c.log_text.encode("utf-8", errors="surrogateescape")


@pytest.mark.parametrize("parse", PARSERS, ids=["docker", "swarm"])
def test_log_is_what_the_program_printed(parse):
    log = parse(STREAM)
    assert as_bytes(ContainerRun("c", log=log)) == PRINTED
    assert [line.end for line in log] == ["\n"] * 4 + [""]  # the last one was unterminated
    assert log[0].text == "SET: rps=1\r    \rSET: 110864.74 requests per second"
    assert log[1].text == "x\x0by\x1cz\u2028w\x85v"  # not lines to the engine, nor to us
    assert log[0].time == (calendar.timegm((2026, 12, 6, 11, 35, 58)), 405000605)


@pytest.mark.parametrize("parse", PARSERS, ids=["docker", "swarm"])
def test_a_long_line_comes_in_stamped_pieces_and_is_joined(parse):
    line = b"a" * (2 * PIECE) + b"b" * 5  # the engine stamps every 16 KiB piece
    stream = (S + line[:PIECE] + S + line[PIECE:2 * PIECE] + S + b"bbbbb\n"
              + S + b"c" * PIECE + S + b"\n" + S + b"tail")
    log = parse(stream)
    assert as_bytes(ContainerRun("c", log=log)) == line + b"\n" + b"c" * PIECE + b"\ntail"
    assert len(log) == 3


def test_a_line_that_merely_contains_a_stamp_keeps_it():
    log = local_runner.parse_log(S + b"at " + S + b"x\n")
    assert log[0].text == "at " + S.decode() + "x"


def test_the_log_shown_or_stored_is_valid_text():
    c = ContainerRun("c", log=local_runner.parse_log(STREAM))
    assert "bad \udcff byte" in c.log_text and "bad \ufffd byte" in c.log_shown
    c.log_shown.encode("utf-8")  # what a database takes


def test_kept_log_file_is_byte_for_byte(tmp_path):
    r = TrialRun(containers={"c": ContainerRun("c", 0, log=local_runner.parse_log(STREAM))})
    write_logs(r, tmp_path)
    assert (tmp_path / "c.log").read_bytes() == PRINTED
    merged = (tmp_path / "merged.log").read_bytes()
    assert merged.startswith(b"c | SET: rps=1\r    \rSET: 110864.74") and merged.endswith(
        b"c | last\n")


def score(text: bytes, regex: str) -> float:
    r = TrialRun(containers={"c": ContainerRun("c", 0, log=local_runner.parse_log(
        S + text))})
    return extract_score(Objective(container="c", regex=regex), r, None)


def test_score_after_carriage_return_redraws():
    assert score(b"SET: rps=1\r    \rSET: 110864.74 requests per second\n",
                 r"SET: ([0-9.]+) requests per second") == 110864.74
    # For ^ and $ a '\r' ends a line; the last match is the last value shown.
    redraw = b"\rdone 10%\rdone 55%\rdone 99.5%"  # no newline at all
    assert score(redraw, r"^done ([0-9.]+)%$") == 99.5
    assert score(b"total 3\r\n", r"^total ([0-9]+)$") == 3  # a CRLF line, too


def test_no_match_says_so():
    with pytest.raises(TrialFailed, match="matched nothing in c.log"):
        score(b"\rSET: rps=5\r", r"SET: ([0-9.]+) requests")


def test_failure_reason_shows_the_last_redraw():
    job = parse_job("parameters: {n: {enum: [1]}}\nspec: {containers: {c: {image: x}}}\n",
                    "job.yaml", environ={})
    log = local_runner.parse_log(S + b"working 3/9\r           \rerror: disk \xff full\n")
    r = TrialRun(containers={"c": ContainerRun("c", 1, log=log)})
    assert failure_reason(job, r) == "container c exited with code 1: error: disk \ufffd full"
