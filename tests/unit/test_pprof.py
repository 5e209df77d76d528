"""tuner.collect.pprof on small profiles built here with the generated profile.proto classes."""

from __future__ import annotations

import gzip
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tuner.collect import _profile_pb2 as pb
from tuner.collect.pprof import FunctionCost, Profile, ProfileError, Top, parse_folded, read_profile

Frame = str | tuple[str, ...]  # a location: a function, or inlined functions innermost first


class Builder:
    """Writes a profile.proto message the way Go's runtime/pprof lays it out."""

    def __init__(self, *sample_types: tuple[str, str], default: str | None = None):
        self.msg = pb.Profile()
        self.msg.string_table.append("")
        self._strings: dict[str, int] = {"": 0}
        self._functions: dict[str, int] = {}
        self._locations: dict[tuple[str, ...], int] = {}
        for type_, unit in sample_types:
            self.msg.sample_type.add(type=self.string(type_), unit=self.string(unit))
        if default is not None:
            self.msg.default_sample_type = self.string(default)
        self.msg.mapping.add(id=1, filename=self.string("/usr/bin/app"), has_functions=True)

    def string(self, text: str) -> int:
        if text not in self._strings:
            self._strings[text] = len(self.msg.string_table)
            self.msg.string_table.append(text)
        return self._strings[text]

    def function(self, name: str) -> int:
        if name not in self._functions:
            self._functions[name] = len(self._functions) + 1
            self.msg.function.add(
                id=self._functions[name], name=self.string(name), filename=self.string("x.go")
            )
        return self._functions[name]

    def location(self, frame: Frame) -> int:
        names = (frame,) if isinstance(frame, str) else frame
        if names not in self._locations:
            n = len(self._locations) + 1
            loc = self.msg.location.add(id=n, mapping_id=1, address=0x1000 + n)
            for line, name in enumerate(names):
                loc.line.add(function_id=self.function(name), line=10 + line)
            self._locations[names] = loc.id
        return self._locations[names]

    def sample(self, stack: Sequence[Frame], *values: int) -> Builder:
        """stack: leaf first, like Sample.location_id."""
        self.msg.sample.add(location_id=[self.location(f) for f in stack], value=list(values))
        return self

    def bytes(self) -> bytes:
        return self.msg.SerializeToString()

    def profile(self) -> Profile:
        return read_profile(self.bytes())


def costs(top: Top) -> list[tuple[str, float, float]]:
    return [(f.name, f.flat, f.cum) for f in top.functions]


def cpu_builder() -> Builder:
    b = Builder(("samples", "count"), ("cpu", "nanoseconds"))
    b.sample(["b", "a", "main"], 10, 100)
    b.sample(["a", "main"], 5, 50)
    b.sample(["c", "main"], 3, 30)
    b.sample(["b", "c", "main"], 1, 10)
    return b


def test_flat_and_cum() -> None:
    top = cpu_builder().profile().top()
    assert (top.sample_type, top.unit, top.total) == ("cpu", "nanoseconds", 190)
    assert costs(top) == [
        ("b", 110, 110),
        ("a", 50, 150),
        ("c", 30, 40),
        ("main", 0, 190),
    ]


def test_values_stay_ints() -> None:
    top = cpu_builder().profile().top("samples")
    assert all(type(v) is int for f in top.functions for v in (f.flat, f.cum))
    assert type(top.total) is int


def test_recursion_counts_once_in_cum() -> None:
    b = Builder(("samples", "count"))
    b.sample(["f", "g", "f", "g", "f", "main"], 7)  # mutual recursion, leaf f
    b.sample(["fib", "fib", "fib", "main"], 2)  # direct recursion
    top = b.profile().top()
    assert costs(top) == [("f", 7, 7), ("fib", 2, 2), ("g", 0, 7), ("main", 0, 9)]


def test_inlined_frames_are_functions() -> None:
    # One location holds mix inlined into hashLoop (innermost first), as Go writes it.
    b = Builder(("samples", "count"))
    b.sample([("mix", "hashLoop"), "main"], 4)
    b.sample([("hashLoop",), "main"], 1)
    b.sample([("mix", "helper", "hashLoop"), "main"], 2)
    top = b.profile().top()
    assert costs(top) == [("mix", 6, 6), ("hashLoop", 1, 7), ("helper", 0, 2), ("main", 0, 7)]


def test_inlined_recursion_counts_once() -> None:
    b = Builder(("samples", "count"))
    b.sample([("f", "f"), "f"], 3)
    assert costs(b.profile().top()) == [("f", 3, 3)]


def heap_builder(default: str | None = None) -> Builder:
    b = Builder(
        ("alloc_objects", "count"), ("alloc_space", "bytes"),
        ("inuse_objects", "count"), ("inuse_space", "bytes"),
        default=default,
    )
    b.sample(["big", "main"], 1, 4096, 1, 4096)
    b.sample(["small", "main"], 100, 800, 0, 0)
    return b


def test_every_sample_type() -> None:
    profile = heap_builder().profile()
    assert profile.sample_types == [
        ("alloc_objects", "count"), ("alloc_space", "bytes"),
        ("inuse_objects", "count"), ("inuse_space", "bytes"),
    ]
    assert costs(profile.top("alloc_objects")) == [
        ("small", 100, 100), ("big", 1, 1), ("main", 0, 101),
    ]
    assert costs(profile.top("alloc_space")) == [
        ("big", 4096, 4096), ("small", 800, 800), ("main", 0, 4896),
    ]
    # small has no inuse value: pprof drops functions whose flat and cum are both zero.
    assert costs(profile.top("inuse_objects")) == [("big", 1, 1), ("main", 0, 1)]
    assert profile.top("inuse_space").unit == "bytes"


def test_default_sample_type_is_last_unless_declared() -> None:
    assert heap_builder().profile().default_sample_type == "inuse_space"
    assert heap_builder().profile().top().sample_type == "inuse_space"
    declared = heap_builder(default="alloc_space").profile()
    assert declared.default_sample_type == "alloc_space"
    assert declared.top().sample_type == "alloc_space"
    # A default that names no sample type is ignored, like pprof does.
    assert heap_builder(default="bogus").profile().top().sample_type == "inuse_space"


def test_sample_index_forms() -> None:
    profile = heap_builder().profile()
    assert profile.top(1).sample_type == "alloc_space"
    assert profile.top("1").sample_type == "alloc_space"
    assert profile.top("").sample_type == "inuse_space"
    legacy = Builder(("objects", "count"), ("space", "bytes"))
    legacy.sample(["f"], 1, 8)
    assert legacy.profile().top("inuse_objects").sample_type == "objects"


@pytest.mark.parametrize("bad", ["wall", 4, -1, "7"])
def test_unknown_sample_index_lists_valid_ones(bad: str | int) -> None:
    with pytest.raises(ProfileError) as err:
        heap_builder().profile().top(bad)
    text = f"{err.value} {err.value.hint or ''}"
    for name in ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space"):
        assert name in text


def test_sort_ties_by_name_and_limit() -> None:
    b = Builder(("samples", "count"))
    for name in ("zeta", "alpha", "mid"):
        b.sample([name, "main"], 5)
    b.sample(["big", "main"], 9)
    profile = b.profile()
    assert [f.name for f in profile.top().functions] == ["big", "alpha", "mid", "zeta", "main"]
    top2 = profile.top(n=2)
    assert [f.name for f in top2.functions] == ["big", "alpha"]
    assert top2.total == 24  # the total is of the whole profile


def test_zero_and_negative_values() -> None:
    b = Builder(("samples", "count"))
    b.sample(["a", "main"], 0)
    b.sample(["b", "main"], -4)  # as in a diff profile
    b.sample(["c", "main"], 6)
    top = b.profile().top()
    assert top.total == 10  # pprof sums absolute values
    assert costs(top) == [("c", 6, 6), ("b", -4, -4), ("main", 0, 2)]


def test_samples_with_same_stack_and_labels_merge_before_the_total() -> None:
    b = Builder(("samples", "count"))
    b.sample(["a"], 5).sample(["a"], -3)  # merge to 2
    b.sample(["b"], 4)
    labelled = b.msg.sample.add(location_id=[b.location("b")], value=[-1])
    labelled.label.add(key=b.string("thread"), str=b.string("t1"))  # a different sample
    top = b.profile().top()
    assert top.total == 2 + 4 + 1
    assert costs(top) == [("b", 3, 3), ("a", 2, 2)]


def test_unsymbolized_frames_are_named_after_the_binary() -> None:
    b = Builder(("samples", "count"))
    msg = b.msg
    msg.location.add(id=50, mapping_id=1, address=0xdead)  # no lines
    msg.location.add(id=51, address=0xbeef)  # no lines, no mapping
    msg.sample.add(location_id=[50, 51], value=[3])
    assert costs(b.profile().top()) == [("[app]", 3, 3), ("<unknown>", 0, 3)]


def test_empty_stack_counts_in_total_only() -> None:
    b = Builder(("samples", "count"))
    b.msg.sample.add(location_id=[], value=[2])
    b.sample(["a"], 1)
    top = b.profile().top()
    assert top.total == 3
    assert costs(top) == [("a", 1, 1)]


def test_to_dict() -> None:
    top = Top("cpu", "nanoseconds", 5, [FunctionCost("f", 5, 5)])
    assert top.to_dict() == {
        "sample_type": "cpu", "unit": "nanoseconds", "total": 5,
        "functions": [{"name": "f", "flat": 5, "cum": 5}],
    }


def test_gzip_plain_path_and_bytes_agree(tmp_path: Path) -> None:
    raw = cpu_builder().bytes()
    plain, zipped = tmp_path / "cpu.pb", tmp_path / "cpu.pb.gz"
    plain.write_bytes(raw)
    zipped.write_bytes(gzip.compress(raw))
    expected = costs(read_profile(raw).top())
    assert costs(read_profile(plain).top()) == expected
    assert costs(read_profile(str(zipped)).top()) == expected
    assert costs(read_profile(zipped.read_bytes()).top("samples")) == costs(
        read_profile(raw).top(0)
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (gzip.compress(b"\xff\xfe\x00\x01 not a profile")[:-6], "gzip"),
        (gzip.compress(b"\x08\x96\x01\xff\xff\xff"), "profile"),
        (b"\x00\x01\x02\x03\xff\xfe", "profile"),
    ],
)
def test_corrupt_data(data: bytes, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        read_profile(data)


def test_truncated_profile() -> None:
    raw = cpu_builder().bytes()
    with pytest.raises(ProfileError):
        read_profile(raw[: len(raw) // 2])


def test_dangling_references_and_value_count() -> None:
    b = cpu_builder()
    b.msg.sample.add(location_id=[999], value=[1, 1])
    with pytest.raises(ProfileError, match="missing location 999"):
        b.profile()
    b = cpu_builder()
    b.msg.sample.add(location_id=[1], value=[1])
    with pytest.raises(ProfileError, match="1 values for 2 sample types"):
        b.profile()
    b = cpu_builder()
    b.msg.location.add(id=77, line=[pb.Line(function_id=404)])
    with pytest.raises(ProfileError, match="missing function 404"):
        b.profile()
    b = cpu_builder()
    b.msg.function.add(id=99, name=12345)
    with pytest.raises(ProfileError, match="string index"):
        b.profile()


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pb.gz"
    with pytest.raises(ProfileError, match="nope.pb.gz"):
        read_profile(missing)
    bad = tmp_path / "bad.pb.gz"
    bad.write_bytes(b"\x1f\x8bxx")
    with pytest.raises(ProfileError, match="bad.pb.gz"):
        read_profile(bad)


FOLDED = """\
main;a;b 10
main;a 5

main;c 3
main;c;b 1
"""


def test_folded_same_structure_as_pprof() -> None:
    top = parse_folded(FOLDED).top()
    assert (top.sample_type, top.unit, top.total) == ("samples", "count", 19)
    assert costs(top) == [("b", 11, 11), ("a", 5, 15), ("c", 3, 4), ("main", 0, 19)]
    samples_only = Builder(("samples", "count"))
    samples_only.sample(["b", "a", "main"], 10).sample(["a", "main"], 5)
    samples_only.sample(["c", "main"], 3).sample(["b", "c", "main"], 1)
    assert costs(samples_only.profile().top()) == costs(top)


def test_folded_details() -> None:
    text = "main;run (app.py:3);fib (app.py:9);fib (app.py:9) 4\r\nmain;idle 2.5\n"
    profile = parse_folded(text)
    assert profile.sample_types == [("samples", "count")]
    assert profile.default_sample_type == "samples"
    assert costs(profile.top("samples")) == [
        ("fib (app.py:9)", 4, 4), ("idle", 2.5, 2.5), ("main", 0, 6.5), ("run (app.py:3)", 0, 4),
    ]


def test_read_profile_detects_folded(tmp_path: Path) -> None:
    path = tmp_path / "stacks.txt"
    path.write_text(FOLDED)
    assert costs(read_profile(path).top()) == costs(parse_folded(FOLDED).top())
    zipped = gzip.compress(FOLDED.encode())
    assert costs(read_profile(zipped).top()) == costs(parse_folded(FOLDED).top())


@pytest.mark.parametrize(
    "text", ["main;a ten\n", "just-one-field\n", "main;a 1\nmain;b nan\n", "\n \n"]
)
def test_bad_folded(text: str) -> None:
    with pytest.raises(ProfileError):
        parse_folded(text)


def test_bad_folded_names_the_line() -> None:
    with pytest.raises(ProfileError, match="line 2"):
        parse_folded("main;a 1\nmain;b x\n")


def test_reading_a_large_profile_is_fast() -> None:
    # ~20k samples of depth ~40 over 2k functions: about 1 MB of protobuf, more than a
    # typical Go profile. Reading it must stay far from quadratic.
    b = Builder(("samples", "count"), ("cpu", "nanoseconds"))
    names = [f"pkg.fn{i}" for i in range(2000)]
    for i in range(20000):
        stack = [names[(i * 7 + d * 13) % 2000] for d in range(40)]
        b.sample(stack, 1, 10_000_000)
    raw = gzip.compress(b.bytes())
    start = time.process_time()  # CPU time: a busy machine does not slow it
    profile = read_profile(raw)
    top = profile.top()
    elapsed = time.process_time() - start
    assert top.total == 20000 * 10_000_000
    assert elapsed < 5, f"reading a {len(raw)} byte profile took {elapsed:.2f}s"
