"""Score extraction, failure reasons and merged logs, on runs built by hand (no Docker)."""

from __future__ import annotations

import pytest

from tuner.collect.logs import merge_logs
from tuner.collect.outcome import failure_reason
from tuner.collect.score import extract_score
from tuner.errors import TrialFailed
from tuner.job import parse_job
from tuner.job.model import Objective
from tuner.runner import ContainerRun, LogLine, TrialRun
from tuner.runner.docker import parse_log

JOB = parse_job("""
parameters: {n: {enum: [1]}}
spec:
  containers:
    b: {image: x, ram: 2g}
    score: {image: x, output: /out}
  until: score
  timeout: 20s
""", "job.yaml", environ={})


def run(**containers: ContainerRun) -> TrialRun:
    return TrialRun(containers=containers)


def lines(*texts: str, start: int = 0) -> list[LogLine]:
    return [LogLine((100, start + i), t) for i, t in enumerate(texts)]


def test_regex_last_match_group_one():
    r = run(score=ContainerRun("score", 0, log=lines("total 9.5s", "retry", "total 1.25s", "bye")))
    obj = Objective(container="score", regex=r"total ([0-9.]+)s")
    assert extract_score(obj, r, None) == 1.25


def test_regex_without_group_uses_whole_match():
    r = run(score=ContainerRun("score", 0, log=lines("took 3.5")))
    assert extract_score(Objective(container="score", regex=r"[0-9.]+$"), r, None) == 3.5


def test_regex_no_match():
    r = run(score=ContainerRun("score", 0, log=lines("nothing")))
    with pytest.raises(TrialFailed) as exc:
        extract_score(Objective(container="score", regex="total ([0-9.]+)s"), r, None)
    assert exc.value.reason == "no score: regex 'total ([0-9.]+)s' matched nothing in score.log"


def test_file_score(tmp_path):
    obj = Objective(container="score", file="score.txt")
    with pytest.raises(TrialFailed, match="score.txt was not written by container score"):
        extract_score(obj, run(), tmp_path)
    (tmp_path / "score.txt").write_text(" 12.5\n")
    assert extract_score(obj, run(), tmp_path) == 12.5
    (tmp_path / "score.txt").write_text("fast")
    with pytest.raises(TrialFailed, match="'fast' in score.txt is not a number"):
        extract_score(obj, run(), tmp_path)
    (tmp_path / "score.txt").write_text("nan")
    with pytest.raises(TrialFailed, match="not a finite number"):
        extract_score(obj, run(), tmp_path)


def test_success_has_no_reason():
    r = run(b=ContainerRun("b", killed=True), score=ContainerRun("score", 0))
    assert failure_reason(JOB, r) is None


def test_crash_names_container_code_and_last_error_line():
    r = run(b=ContainerRun("b", 2, log=lines("start", "panic: boom"), stderr_tail=["panic: boom"]),
            score=ContainerRun("score", 0))
    assert failure_reason(JOB, r) == "container b exited with code 2: panic: boom"


def test_oom_names_ram():
    r = run(b=ContainerRun("b", 137, oom_killed=True), score=ContainerRun("score", 0))
    assert failure_reason(JOB, r) == "container b: out of memory (ram 2g)"


def test_timeout_with_earlier_crash():
    r = TrialRun(containers={"b": ContainerRun("b", 1, log=lines("bad flag")),
                             "score": ContainerRun("score", killed=True)}, timed_out=True)
    assert failure_reason(JOB, r) == ("killed after the 20s timeout (still running: score); "
                                      "before that, container b exited with code 1: bad flag")


def test_may_fail_container_is_no_failure():
    job = parse_job("""
parameters: {n: {enum: [1]}}
spec:
  containers:
    b: {image: x, ram: 2g, may_fail: true}
    score: {image: x}
  until: score
""", "job.yaml", environ={})
    r = run(b=ContainerRun("b", 3, log=lines("expected")), score=ContainerRun("score", 0))
    assert failure_reason(job, r) is None
    r = run(b=ContainerRun("b", 137, oom_killed=True), score=ContainerRun("score", 0))
    assert failure_reason(job, r) is None
    # Its own crash says nothing; the trial's other failures still do.
    r = run(b=ContainerRun("b", 3), score=ContainerRun("score", 1, log=lines("bad")))
    assert failure_reason(job, r) == "container score exited with code 1: bad"


def test_dropped_engine_calls_in_a_few_words():
    from requests.exceptions import ChunkedEncodingError, ConnectionError, ReadTimeout

    from tuner.runner.faults import describe

    assert describe(ConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such "
                                    "file or directory'))")) == "its socket is gone"
    assert describe(ConnectionError("('Connection aborted.', ConnectionRefusedError(111, "
                                    "'Connection refused'))")) == "connection refused"
    assert describe(ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end "
                                    "closed connection without response'))")) == \
        "it closed the connection"
    assert describe(ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read)")) \
        == "it closed the connection mid-answer"
    assert describe(ReadTimeout("Read timed out. (read timeout=120)")) == \
        "it stopped answering"


def test_merge_interleaves_by_time():
    r = run(b=ContainerRun("b", log=[LogLine((100, 5), "b1"), LogLine((101, 0), "b2")]),
            score=ContainerRun("score", log=[LogLine((100, 7), "s1"), LogLine((100, 7), "s2")]))
    assert merge_logs(r) == "b     | b1\nscore | s1\nscore | s2\nb     | b2\n"


def test_parse_docker_log_timestamps():
    raw = (b"2026-11-26T18:00:00.5Z second\n"
           b"2026-11-26T18:00:00.123456789Z first has  spaces\n"
           b"2026-11-26T18:00:01Z third\n")
    parsed = parse_log(raw)
    assert [p.text for p in sorted(parsed, key=lambda p: p.time)] == [
        "first has  spaces", "second", "third"]
    assert parsed[0].time[1] == 500_000_000
