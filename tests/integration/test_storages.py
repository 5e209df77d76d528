"""A study on each shared server, through the URLs people write (`postgresql://`, `mysql://`,
no driver named): a grid run by `tuner optimize`, then every answer read back by the CLI."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.docker

JOB = """
name: stores
objective: {{direction: minimize, regex: 'score ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: 4}}}}
  mode: {{enum: ["off", "1.10", fast]}}
spec:
  containers:
    main:
      image: {image}
      command: [sh, -c, 'case $MODE in off) m=1;; 1.10) m=2;; *) m=3;; esac; echo score $(( (X - 3) * (X - 3) * 10 + m ))']
"""


def score(x: int, mode: str) -> float:
    return float((x - 3) ** 2 * 10 + {"off": 1, "1.10": 2, "fast": 3}[mode])


@pytest.fixture(params=["postgres", "mysql"])
def written_url(request):
    """A fresh database on each server, its URL as a person writes it: no driver named."""
    from sqlalchemy.engine import make_url

    url = make_url(request.getfixturevalue(f"{request.param}_url"))
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)


def answer(run_cli, capsys, *args: str):
    assert run_cli(*args) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    return captured.out


def test_a_grid_on_a_server_and_every_answer(busybox, write_job, run_cli, capsys, written_url,
                                             tmp_path, monkeypatch):
    assert written_url.startswith(("postgresql://", "mysql://"))
    job = write_job(JOB.format(image=busybox))
    answer(run_cli, capsys, "optimize", str(job), "--sampler", "grid", "--storage", written_url)
    monkeypatch.setenv("TUNER_STORAGE", written_url)  # the readers, by the environment

    (study,) = json.loads(answer(run_cli, capsys, "studies", "--json"))
    assert (study["study"], study["trials"], study["complete"], study["best"]) == \
        ("stores", 12, 12, 1.0)

    best = json.loads(answer(run_cli, capsys, "best", "--json"))
    assert (best["value"], best["params"]) == (1.0, {"x": 3, "mode": "off"})

    trials = json.loads(answer(run_cli, capsys, "trials", "--json"))
    assert [t["number"] for t in trials] == list(range(12))
    assert all(t["state"] == "COMPLETE" and t["reason"] is None for t in trials)
    assert {(t["params"]["x"], t["params"]["mode"]) for t in trials} == \
        {(x, m) for x in range(1, 5) for m in ("off", "1.10", "fast")}
    for t in trials:  # values as written: "1.10" stays text
        assert t["value"] == score(t["params"]["x"], t["params"]["mode"]), t

    answer(run_cli, capsys, "report", "-o", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert "stores" in page and "1.10" in page
