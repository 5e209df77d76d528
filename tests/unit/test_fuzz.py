"""Fuzzing: mutated job files and random command lines never end in an internal error.

The generator is bench/fuzz.py's (the bench runs 10,000 cases; this a fixed-seed batch). A
failure prints the case's seed, index, mutations and file: `bench/fuzz.py --seed S --only I`
runs it again.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import random
import sys
from pathlib import Path

import pytest

from tuner.job.yamlfile import Loader as _Loader

ROOT = Path(__file__).resolve().parents[2]


def _load_fuzz():
    name = "tuner_bench_fuzz"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "fuzz.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[name]


fuzz = _load_fuzz()

SEED = 20200528
CASES = 1500


@pytest.fixture
def quiet(tmp_path, monkeypatch):
    """In a temporary folder (no tuner.db next to the repository), without TUNER_DEBUG (it
    makes main() raise), and with no trial able to start."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNER_DEBUG", raising=False)
    monkeypatch.delenv("TUNER_STORAGE", raising=False)
    import tuner.runner.docker

    def no_trials(*args, **kwargs):
        raise AssertionError("a fuzzed command line was about to start trials")

    monkeypatch.setattr(tuner.runner.docker, "DockerRunner", no_trials)
    return tmp_path


@pytest.fixture
def shallow():
    """Python's recursion limit a few hundred frames above this test's depth: a job, however
    deep, is refused by counting, never by running into the limit. Code that ran into it made
    the garbage collector run earlier tests' finalizers at that depth, where they failed (the
    suite's unraisable RecursionErrors, at random)."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + HEADROOM)
    yield
    sys.setrecursionlimit(limit)


HEADROOM = 400  # frames for click, pydantic, jinja and a job nested up to its limits


def _failures(results, show: int = 3) -> str:
    failed = [r for r in results if r.problems]
    return f"{len(failed)} failing case(s); the first:\n\n" + "\n\n".join(
        r.report() for r in failed[:show])


def test_fuzzed_job_files_exit_0_or_2_naming_the_file(quiet, shallow):
    # CPU time, not wall time, against the 1 s limit: the suite may share the machine.
    results = fuzz.run(CASES, SEED, quiet, cpu_limit=fuzz.LIMIT)
    assert not any(r.problems for r in results), _failures(results)
    codes = [r.code for r in results]
    # The generator reaches both sides: jobs that load and render, and jobs refused.
    assert codes.count(0) > CASES // 20 and codes.count(2) > CASES // 2


# What the fuzzer found, one case each: exit 2 with the file and field named, quickly.
JOB = """\
parameters:
  {param}
spec:
  containers:
    s: {{image: x, cpu: {cpu}, files: {{/etc/a: {{template: {template}}}}}}}
  timeout: {timeout}
{extra}"""
FOUND = {
    "infinite range": ({"param": "x: {range: {min: -.inf, max: .inf, step: 1}}"},
                       "parameters.x.range: min must be a finite number"),
    "nan range": ({"param": "x: {range: {min: .nan, max: 1}}"}, "min must be a finite number"),
    "huge int in a float range": ({"param": f"x: {{range: {{min: 0.5, max: {'9' * 400}}}}}"},
                                  "max must be a finite number"),
    "huge range with a step and default": (
        {"param": f"x: {{range: {{min: 0, max: {'9' * 400}, step: 1}}, default: 5}}"},
        "max must be a finite number"),
    "span past a float": ({"param": "x: {range: {min: -1.0e+308, max: 1.0e+308, step: 1.0}}"},
                          "the range is wider than a float holds"),
    "step too small": ({"param": "x: {range: {min: 0.0, max: 1.0e+300, step: 1.0e-300}}"},
                       "step is too small"),
    "5000 digits": ({"param": f"x: {{range: {{min: 0, max: {'9' * 5000}}}}}"},
                    "not valid YAML: a number of more than 4300 digits"),
    "no such date": ({"param": "x: {enum: [2001-02-30]}"}, "day is out of range for month"),
    "bad timestamp": ({"param": "x: {enum: [!!timestamp 2001-12-14t21:5x]}"},
                      "not a valid timestamp"),
    "NUL character": ({"param": "x: {enum: [a\x00b]}"}, "character #x0000 is not allowed"),
    "lone surrogate": ({"param": 'x: {enum: ["\\ud800"]}'}, "x.enum.0: has a lone surrogate"),
    "regex nested deep": ({"extra": f"objective: {{regex: '{'(' * 1000}'}}\n"},
                          "objective: regex nests groups more than 50 deep"),
    "key with a bracket": ({"param": "x: {enum: [1], \"def[ault\": 1}"},
                           "unknown key 'def[ault'; did you mean 'default'?"),
    "timeout of 400 digits": ({"timeout": "1" * 400}, "spec.timeout: is too many seconds"),
    "infinite cpu": ({"cpu": ".inf"}, "spec.containers.s.cpu: must be a finite number"),
    "deep nesting": ({"param": "x: " + "[" * 5000 + "]" * 5000},
                     "nested more than 100 levels deep"),
    "many values": ({"param": "x: {enum: [" + ", ".join(["1"] * 20000) + "]}"},
                    "more than 10000 values written"),
    "wide aliases": ({"param": "x: {enum: [" + ", ".join(["&w [[1]]"] + ["*w"] * 9000) + "]}"},
                     ": ... and 35984 more"),
    "billion laughs": ({"param": "x: {enum: " + fuzz._laughs(9, 9, False) + "}"},
                       "expands to more than 100000 values"),
    "template is /dev/zero": ({"template": "/dev/zero"}, "larger than 1 MiB"),
    "template path with NUL": ({"template": '"a\\0b"'}, "embedded null byte"),
    "template is a folder": ({"template": "/etc"}, "Is a directory"),
}


@pytest.mark.parametrize("name", list(FOUND))
def test_found_by_fuzzing(name, quiet, shallow):
    fields, expected = FOUND[name]
    fields = {"param": "x: {enum: [1]}", "cpu": 1, "template": "t.j2", "timeout": "10s",
              "extra": "", **fields}
    (quiet / "t.j2").write_text("t\n")
    path = quiet / "job.yaml"
    path.write_text(JOB.format(**fields))
    code, _, err, _, cpu = fuzz.run_cli(["validate", str(path)])
    assert code == 2 and str(path) in err and expected in err, err[:2000]
    assert not fuzz.internal(err) and cpu < fuzz.LIMIT


@pytest.mark.parametrize("kind", ["markup", "many_params"])
def test_markup_and_huge_grids_print(kind, quiet):
    """Values that look like rich markup (`[/]`), and grids of more than 4300 digits."""
    seeds = fuzz.prepare(quiet)
    failed = []
    for i in range(40):
        rng = random.Random(i)
        base = sorted(seeds)[i % len(seeds)]
        data = fuzz.yaml.load(seeds[base], Loader=_Loader)
        raws: list[str] = []
        mutation = fuzz.STRUCTURAL[kind][0](rng, data, raws)
        blob = fuzz._dump(rng, data, raws).encode("utf-8", "backslashreplace")
        case = fuzz.Case(SEED, i, base, [mutation], blob, json=i % 2 == 1)
        r = fuzz.run_case(case, quiet / "jobs", cpu_limit=fuzz.LIMIT)
        failed += [r] if r.problems else []
    assert not failed, _failures(failed, 1)


# --- command lines --------------------------------------------------------------------------

VALID = """\
parameters:
  numChunk: {range: {min: 1, max: 10}}
spec:
  containers:
    score: {image: tuner-test/never-run:1}
"""


def _files(tmp: Path) -> dict[str, str]:
    """Paths the command lines pick from: a valid job, bad ones, and things no job is."""
    rng = random.Random(SEED)
    junk = bytes(rng.randrange(256) for _ in range(300))
    texts: dict[str, bytes] = {
        "job": VALID.encode(),
        "bad-typo": VALID.replace("image:", "imgae:").encode(),
        "bad-yaml": b"parameters: [\n  - {",
        "bad-nonutf8": b"parameters:\n  x: {enum: [\xff\xfe]}\n",
        "bad-utf16": VALID.encode("utf-16"),
        "bad-empty": b"",
        "bad-big": b"# " + b"x" * (2 << 20) + b"\n",
        "bad-unreadable": VALID.replace("score", "s c").encode(),
        "junk.pprof": junk,
        "junk.pb.gz": gzip.compress(junk),
        "corrupt.pb.gz": gzip.compress(junk)[:40],
        "notdb.txt": b"this is not a database\n",
    }
    files = {}
    for name, data in texts.items():
        path = tmp / (name if "." in name else f"{name}.yaml")
        path.write_bytes(data)
        files[name] = str(path)
    os.chmod(files["bad-unreadable"], 0)
    (tmp / "bad-dir.yaml").mkdir()
    files["bad-dir"] = str(tmp / "bad-dir.yaml")
    files["bad-missing"] = str(tmp / "missing" / "job.yaml")
    files["bad-relative"] = "../../../nope.yaml"
    files["bad-option-like"] = "--json"
    return files


def _studies(tmp: Path) -> list[str]:
    """A study database with a few trials (one failed) and one with an empty study."""
    import optuna
    from optuna.distributions import IntDistribution
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    urls = [f"sqlite:///{tmp}/study.db", f"sqlite:///{tmp}/empty.db"]
    study = optuna.create_study(storage=urls[0], study_name="s")
    dist = {"numChunk": IntDistribution(1, 10)}
    for x in (2, 5, 9):
        study.add_trial(create_trial(params={"numChunk": x}, distributions=dist, value=x / 3))
    study.add_trial(create_trial(params={"numChunk": 1}, distributions=dist,
                                 state=TrialState.FAIL))
    optuna.create_study(storage=urls[1], study_name="s")
    return urls


def test_fuzzed_command_lines_exit_0_1_or_2(quiet):
    files = _files(quiet)
    storages = [s for s in fuzz.BAD_STORAGE if s not in fuzz.KNOWN_OPEN_STORAGE]
    storages += _studies(quiet) * 6
    rng = random.Random(SEED)
    failed = []
    for i in range(400):
        argv = fuzz.cli_argv(rng, files, storages)
        code, out, err, _, cpu = fuzz.run_cli(argv)
        problems = ([f"exit {code}"] if code not in (0, 1, 2) else []) + \
            (["internal error"] if fuzz.internal(err) or fuzz.internal(out) else []) + \
            ([f"slow: {cpu:.2f} s CPU"] if cpu > 5 * fuzz.LIMIT else [])
        if problems:
            failed.append(f"{'; '.join(problems)}: tuner {' '.join(map(repr, argv))}\n"
                          f"{err[-1500:]}")
    made = {p.name for p in quiet.glob("**/*.db")} - {"study.db", "empty.db"}
    assert not made, f"a reading command created a database: {made}"
    assert not failed, f"{len(failed)} failing command line(s):\n" + "\n".join(failed[:5])


def test_optimize_refuses_bad_options_before_any_trial(quiet):
    files = _files(quiet)
    job = files["job"]
    for argv, expected in [
        (["--n-trials", "0"], "--n-trials"), (["--n-trials", "abc"], "--n-trials"),
        (["--timeout", "xyz"], "--timeout"), (["--sampler", "nope"], "--sampler"),
        (["--workload", "="], "--workload"), (["--workload", "nope=1"], "--workload"),
        (["--repeat", "-1"], "--repeat")]:
        code, _, err, _, _ = fuzz.run_cli(["optimize", job, *argv])
        assert code == 2 and expected in err and not fuzz.internal(err), (argv, err)
    code, _, err, _, _ = fuzz.run_cli(["optimize", files["bad-typo"], "--storage", "garbage"])
    assert code == 2 and files["bad-typo"] in err and "imgae" in err, err


def test_validate_paths_that_are_no_job(quiet):
    files = _files(quiet)
    for name in ("bad-nonutf8", "bad-utf16", "bad-big", "bad-dir", "bad-missing", "bad-yaml",
                 "bad-empty"):
        code, _, err, _, _ = fuzz.run_cli(["validate", files[name]])
        assert code == 2 and files[name] in err and not fuzz.internal(err), (name, err)
    code, _, err, _, cpu = fuzz.run_cli(["validate", "/dev/zero"])
    assert code == 2 and "larger than 1 MiB" in err and cpu < fuzz.LIMIT, err


@pytest.mark.parametrize("name", ["a[/b]/job.yaml", os.fsdecode(b"\xff.yaml")])
def test_validate_prints_any_path(name, quiet):
    path = quiet / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(VALID)
    code, _, err, _, _ = fuzz.run_cli(["validate", str(path)])
    assert code == 0 and not fuzz.internal(err), err


def test_seeds_are_valid_jobs(quiet):
    for name in fuzz.prepare(quiet):
        code, _, err, _, _ = fuzz.run_cli(["validate", str(quiet / "jobs" / name)])
        assert code == 0, err


def test_generator_is_reproducible(tmp_path):
    seeds = fuzz.prepare(tmp_path)
    a = [fuzz.make_case(7, i, seeds) for i in range(30)]
    b = [fuzz.make_case(7, i, seeds) for i in range(30)]
    assert [c.data for c in a] == [c.data for c in b]
    assert len({c.data for c in a}) == 30
    assert a[0].describe().startswith("case seed=7 index=0")
