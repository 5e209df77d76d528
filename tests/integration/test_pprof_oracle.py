"""tuner.collect.pprof against `go tool pprof -top`, on profiles written by a real Go program.

tests/fixtures/pprofgen writes a CPU profile (hot loop, recursion, an inlined leaf) and
a heap profile (MemProfileRate=1); for every sample type both tools must give the same
functions, in the same flat order, with the same flat and cum values and the same total.
Needs Go: skipped without it, except under CI (CI set), where a missing Go is a failure.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tuner.collect import _profile_pb2 as pb
from tuner.collect.pprof import Profile, read_profile

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "pprofgen"

# Units that `-unit=` can print exactly; counts are printed as plain integers.
EXACT_UNIT = {"nanoseconds": "ns", "bytes": "B"}


@dataclass(frozen=True)
class OracleTop:
    sample_type: str
    total: int
    rows: list[tuple[str, int, int, bool]]  # name, flat, cum, printed with "(inline)"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI"):
            pytest.fail("the pprof oracle tests need Go under CI, but `go` is not on PATH")
        pytest.skip("Go is not installed (`go` not on PATH): the oracle is `go tool pprof`")
    assert go is not None  # for type checkers: fail and skip raise
    return go


def _go_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, GOPROXY="off", GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
    # A usable default build cache saves rebuilding the standard library; else use a fresh one.
    if "GOCACHE" not in env and not os.access(os.path.expanduser("~"), os.W_OK):
        env["GOCACHE"] = str(tmp / "gocache")
    return env


@pytest.fixture(scope="module")
def go_profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    go = _go()
    tmp = tmp_path_factory.mktemp("pprofgen")
    env = _go_env(tmp)
    binary = tmp / "pprofgen"
    subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=FIXTURE, env=env, check=True, timeout=300
    )
    cpu, heap = tmp / "cpu.pb.gz", tmp / "heap.pb.gz"
    subprocess.run(
        [str(binary), "-cpu", str(cpu), "-heap", str(heap), "-duration", "1500ms"],
        check=True, timeout=60, capture_output=True,
    )
    return {"cpu": cpu, "heap": heap}


def _value(text: str, what: str) -> int:
    m = re.fullmatch(r"(-?\d+)(?:ns|B)?", text)
    assert m, f"pprof printed an inexact {what} {text!r}; the oracle needs exact units"
    return int(m.group(1))


# "      flat  flat%   sum%        cum   cum%  name [(inline)]"
ROW = re.compile(
    r"^\s*(?P<flat>\S+)\s+\S+%\s+\S+%\s+(?P<cum>\S+)\s+\S+%\s+"
    r"(?P<name>.+?)(?P<inl> \((?:partial-)?inline\))?$"
)


def pprof_top(path: Path, sample_index: str | None, unit: str) -> OracleTop:
    # No trimming: every node, whatever its share.
    cmd = [_go(), "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0",
           "-edgefraction=0"]
    if unit in EXACT_UNIT:
        cmd.append(f"-unit={EXACT_UNIT[unit]}")
    if sample_index is not None:
        cmd.append(f"-sample_index={sample_index}")
    out = subprocess.run(
        [*cmd, str(path)], check=True, capture_output=True, text=True, timeout=120,
        env=_go_env(path.parent),
    ).stdout
    lines = out.splitlines()
    sample_type = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Type:"))
    showing = next(line for line in lines if line.startswith("Showing nodes"))
    total_match = re.search(r"of (\S+) total", showing)
    assert total_match, showing
    total = _value(total_match.group(1), "total")
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["flat", "flat%"])
    rows = []
    for line in lines[header + 1:]:
        m = ROW.match(line)
        assert m, f"unexpected pprof -top line {line!r}"
        rows.append((m["name"], _value(m["flat"], "flat"), _value(m["cum"], "cum"), bool(m["inl"])))
    return OracleTop(sample_type, total, rows)


def assert_same_top(profile: Profile, path: Path, sample_index: str | None) -> OracleTop:
    ours = profile.top(sample_index)
    oracle = pprof_top(path, sample_index, ours.unit)
    assert ours.sample_type == oracle.sample_type
    assert ours.total == oracle.total
    assert all(isinstance(v, int) for f in ours.functions for v in (f.flat, f.cum))
    got = {f.name: (f.flat, f.cum) for f in ours.functions}
    want = {name: (flat, cum) for name, flat, cum, _ in oracle.rows}
    assert len(got) == len(ours.functions), "a function is listed twice"
    assert got == want
    # Same order: |flat| descending, ties by name (pprof's FlatNameOrder, which we mirror).
    assert [f.flat for f in ours.functions] == [flat for _, flat, _, _ in oracle.rows]
    assert [f.name for f in ours.functions] == [name for name, _, _, _ in oracle.rows]
    return oracle


CPU_TYPES = [None, "samples", "cpu", "0", "1"]
HEAP_TYPES = [None, "alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]


@pytest.mark.parametrize("sample_index", CPU_TYPES)
def test_cpu_profile_matches_pprof(go_profiles: dict[str, Path], sample_index: str | None) -> None:
    path = go_profiles["cpu"]
    profile = read_profile(path)
    assert profile.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    oracle = assert_same_top(profile, path, sample_index)
    names = {name for name, *_ in oracle.rows}
    hot = {"main.spin", "main.fib", "main.mix", "main.hashLoop", "main.walk", "main.visit"}
    assert hot <= names
    # mix is inlined into hashLoop: pprof labels it, our name stays clean.
    assert ("main.mix", True) in {(name, inl) for name, _, _, inl in oracle.rows}


@pytest.mark.parametrize("sample_index", HEAP_TYPES)
def test_heap_profile_matches_pprof(go_profiles: dict[str, Path], sample_index: str | None) -> None:
    path = go_profiles["heap"]
    profile = read_profile(path)
    assert [t for t, _ in profile.sample_types] == [
        "alloc_objects", "alloc_space", "inuse_objects", "inuse_space",
    ]
    oracle = assert_same_top(profile, path, sample_index)
    names = {name for name, *_ in oracle.rows}
    assert {"main.keepBig", "main.keepSmall", "main.newBuf", "main.nest"} <= names


def test_known_heap_numbers(go_profiles: dict[str, Path]) -> None:
    """With MemProfileRate=1 every retained allocation of the fixture is in the profile.
    (At least: the runtime's heap profile can lag a GC cycle, so a freed object may linger.)"""
    top = read_profile(go_profiles["heap"]).top("inuse_objects")
    by_name = {f.name: f for f in top.functions}
    assert by_name["main.newBuf"].flat >= 1000  # inlined into keepSmall
    assert by_name["main.keepSmall"].cum >= by_name["main.newBuf"].flat
    assert by_name["main.nest"].flat == by_name["main.nest"].cum >= 60  # recursion counted once
    assert by_name["main.keepBig"].flat >= 16


def test_cpu_recursion_counted_once(go_profiles: dict[str, Path]) -> None:
    top = read_profile(go_profiles["cpu"]).top("cpu")
    by_name = {f.name: f for f in top.functions}
    for name in ("main.fib", "main.walk", "main.visit"):
        assert 0 < by_name[name].cum <= by_name["main.main"].cum <= top.total


def _random_profile(seed: int) -> bytes:
    """A seeded profile with what Go's runtime rarely shows at once: deep recursion,
    inlined chains, unsymbolized frames, zero and negative values, empty stacks,
    repeated stacks with and without labels."""
    rng = random.Random(seed)
    msg = pb.Profile(
        string_table=["", "samples", "count", "space", "bytes", "/bin/app", "thread", "a", "b"]
    )
    msg.sample_type.add(type=1, unit=2)
    msg.sample_type.add(type=3, unit=4)
    msg.mapping.add(id=1, filename=5, has_functions=True)
    for fid in range(1, 41):
        msg.string_table.append(f"pkg.(*T{fid % 7}).F{fid}")
        msg.function.add(id=fid, name=len(msg.string_table) - 1)
    for lid in range(1, 201):
        loc = msg.location.add(id=lid, mapping_id=1 if lid % 50 else 0, address=0x400000 + lid)
        if lid % 25 == 0:
            continue  # no line: pprof names it after the mapping, or <unknown>
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            loc.line.add(function_id=rng.randint(1, 40), line=rng.randint(1, 99))
    for _ in range(3000):
        stack = [rng.randint(1, 200) for _ in range(rng.randint(0, 30))]
        values = [rng.choice([0, 1, 2, 5]), rng.choice([0, 8, 64, 4096, -16])]
        sample = msg.sample.add(location_id=stack, value=values)
        if rng.random() < 0.3:  # samples merge only with the same labels
            sample.label.add(key=6, str=rng.choice([7, 8]))
    return gzip.compress(msg.SerializeToString())


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("sample_index", ["samples", "space"])
def test_synthetic_profile_matches_pprof(tmp_path: Path, seed: int, sample_index: str) -> None:
    _go()
    path = tmp_path / f"synthetic{seed}.pb.gz"
    path.write_bytes(_random_profile(seed))
    assert_same_top(read_profile(path), path, sample_index)


def test_cli_profile_top_json_matches_pprof(go_profiles: dict[str, Path], capsys) -> None:
    from tuner.cli import main

    path = go_profiles["heap"]
    assert main(["profile", "top", str(path), "--sample-index", "alloc_space", "-n", "5",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    oracle = pprof_top(path, "alloc_space", "bytes")
    assert data["sample_type"] == "alloc_space" and data["total"] == oracle.total
    assert [(f["name"], f["flat"], f["cum"]) for f in data["functions"]] == [
        (name, flat, cum) for name, flat, cum, _ in oracle.rows[:5]]
    assert main(["profile", "top", str(path), "--sample-index", "wall"]) == 2
    assert "wall" in capsys.readouterr().err
