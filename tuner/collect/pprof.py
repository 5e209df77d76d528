"""Read pprof profiles and folded stacks into function-level flat/cum tables.

The numbers match `go tool pprof -top` at its default (function) granularity:

- a node is a function name; inlined frames are functions of their own (a location's
  line[0] is the innermost inlined function, its last line the real caller);
- flat is the value of the samples whose leaf frame is the function;
- cum is the value of the samples that have the function anywhere in their stack,
  counted once per sample even under recursion;
- total is the sum of the absolute sample values (pprof's "of N total"), samples with
  the same stack and labels being merged first, as pprof does;
- rows are sorted by |flat| descending, then by name; functions whose flat and cum
  are both zero are left out.

Not done, as Go's runtime needs none of it: the drop_frames/keep_frames regexps, the
diff-base labels of `pprof -diff_base` output, and pprof's merging of duplicate
locations (which can only change the total of a profile with negative values).
"""

from __future__ import annotations

import gzip
import math
import os
import re
import zlib
from dataclasses import dataclass
from typing import Any, Callable

from google.protobuf.message import DecodeError

from ..errors import InputError

from . import _profile_pb2 as pb

__all__ = ["FunctionCost", "Profile", "ProfileError", "Top", "merge_profiles", "parse_folded",
           "read_profile"]

Number = int | float
_GZIP_MAGIC = b"\x1f\x8b"
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ProfileError(InputError):
    """A profile that cannot be read, or a question it cannot answer."""


@dataclass(frozen=True)
class FunctionCost:
    name: str
    flat: float
    cum: float


@dataclass(frozen=True)
class Top:
    sample_type: str
    unit: str
    total: float
    functions: list[FunctionCost]

    def to_dict(self) -> dict:
        return {
            "sample_type": self.sample_type,
            "unit": self.unit,
            "total": self.total,
            "functions": [{"name": f.name, "flat": f.flat, "cum": f.cum} for f in self.functions],
        }


class Profile:
    """A parsed profile: distinct stacks plus per-sample values for every sample type.

    Stacks are reduced once, at parse time, to (leaf node, distinct nodes), so `top`
    is linear in samples plus distinct stacks times their depth, for any sample type.
    """

    def __init__(
        self,
        sample_types: list[tuple[str, str]],
        default_sample_type: str,
        names: list[str],
        stacks: list[tuple[int, tuple[int, ...]]],
        sample_stacks: list[int],
        sample_values: list[tuple[Number, ...]],
    ):
        self.sample_types = sample_types
        self.default_sample_type = default_sample_type
        self._names = names  # node index -> function name
        self._stacks = stacks  # stack index -> (leaf node or -1, distinct nodes)
        self._sample_stacks = sample_stacks  # sample -> stack index
        self._sample_values = sample_values  # sample -> one value per sample type

    def __repr__(self) -> str:
        types = ", ".join(f"{t}/{u}" for t, u in self.sample_types)
        return f"<Profile [{types}] {len(self._sample_values)} samples>"

    def sample_index(self, sample_index: str | int | None = None) -> int:
        """Resolve a type name or position the way pprof's -sample_index does."""
        types = [t for t, _ in self.sample_types]
        if not types:
            raise ProfileError("the profile has no sample types")
        if sample_index is None or sample_index == "":
            # Like pprof: the declared default if it names a type, else the last type.
            if self.default_sample_type in types:
                return types.index(self.default_sample_type)
            return len(types) - 1
        if isinstance(sample_index, str) and sample_index.strip().lstrip("+-").isdigit():
            sample_index = int(sample_index)
        if isinstance(sample_index, int) and not isinstance(sample_index, bool):
            if not 0 <= sample_index < len(types):
                raise ProfileError(
                    f"sample index {sample_index} is outside the range [0..{len(types) - 1}]",
                    hint=_valid_types(types),
                )
            return sample_index
        if isinstance(sample_index, str):
            # pprof also accepts "inuse_space" for legacy profiles whose type is "space".
            legacy = sample_index.removeprefix("inuse_")
            for i, name in enumerate(types):
                if name in (sample_index, legacy):
                    return i
        raise ProfileError(f"unknown sample type {sample_index!r}; {_valid_types(types)}")

    def top(self, sample_index: str | int | None = None, n: int | None = None) -> Top:
        """Function-level flat and cum for one sample type, sorted like `pprof -top`."""
        index = self.sample_index(sample_index)
        per_stack: list[Number] = [0] * len(self._stacks)
        total: Number = 0
        for stack, values in zip(self._sample_stacks, self._sample_values, strict=True):
            value = values[index]
            if value:
                per_stack[stack] += value
                total += abs(value)

        flat: dict[int, Number] = {}
        cum: dict[int, Number] = {}
        for (leaf, nodes), value in zip(self._stacks, per_stack, strict=True):
            if not value:
                continue
            for node in nodes:
                cum[node] = cum.get(node, 0) + value
            if leaf >= 0:
                flat[leaf] = flat.get(leaf, 0) + value

        names = self._names
        rows = [
            FunctionCost(names[node], flat.get(node, 0), node_cum)
            for node, node_cum in cum.items()
            if node_cum or flat.get(node, 0)
        ]
        rows.sort(key=lambda f: (-abs(f.flat), f.name, -abs(f.cum)))
        if n is not None:
            rows = rows[: max(n, 0)]
        sample_type, unit = self.sample_types[index]
        return Top(sample_type=sample_type, unit=unit, total=total, functions=rows)


def _valid_types(types: list[str]) -> str:
    return "valid sample types: " + ", ".join(f"{i}={t}" for i, t in enumerate(types))


MAX_PROFILE_BYTES = 1 << 30  # a profile is megabytes; past this it is not one


def read_profile(path_or_bytes: str | os.PathLike[str] | bytes) -> Profile:
    """Read a pprof protobuf profile (gzipped or not) or a folded-stacks text file."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return _parse_bytes(bytes(path_or_bytes))
    path = os.fspath(path_or_bytes)
    try:
        if not os.path.isfile(path):
            raise ProfileError(f"cannot read profile {path}: not a regular file")
        with open(path, "rb") as f:
            data = f.read(MAX_PROFILE_BYTES + 1)
        if len(data) > MAX_PROFILE_BYTES:
            raise ProfileError(f"cannot read profile {path}: larger than "
                               f"{MAX_PROFILE_BYTES >> 20} MiB")
    except OSError as e:
        raise ProfileError(f"cannot read profile {path}: {e.strerror or e}") from e
    try:
        return _parse_bytes(data)
    except ProfileError as e:
        raise ProfileError(f"{path}: {e.message}", hint=e.hint) from e


def _parse_bytes(data: bytes) -> Profile:
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ProfileError(f"corrupt gzip data: {e}") from e
    if not data.strip():
        raise ProfileError("the profile is empty")
    text = _as_text(data)
    if text is not None:
        return parse_folded(text)
    return _parse_proto(data)


def _as_text(data: bytes) -> str | None:
    """The data as text, or None if it is binary. A profile.proto message always has
    control bytes (field tags such as 0x08 and 0x10), which text never does."""
    if _CONTROL_BYTES.search(data):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse_proto(data: bytes) -> Profile:
    msg = pb.Profile()
    try:
        msg.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ProfileError(f"not a pprof profile (profile.proto): {e}") from e
    strings = list(msg.string_table)
    if not strings or strings[0] != "":
        raise ProfileError("not a pprof profile: malformed string table")

    def string(i: int) -> str:
        if not 0 <= i < len(strings):
            raise ProfileError(f"corrupt profile: string index {i} out of range")
        return strings[i]

    sample_types = [(string(vt.type), string(vt.unit)) for vt in msg.sample_type]
    default_sample_type = string(msg.default_sample_type)
    if default_sample_type not in {t for t, _ in sample_types}:
        default_sample_type = sample_types[-1][0] if sample_types else ""
    names: list[str] = []
    location_nodes = _location_nodes(msg, string, names)
    stacks, sample_stacks, sample_values = _merged_samples(msg, string, len(sample_types),
                                                           location_nodes)
    return Profile(sample_types, default_sample_type, names, stacks, sample_stacks, sample_values)


def _location_nodes(msg: Any, string: Callable[[int], str], names: list[str]
                    ) -> dict[int, tuple[int, ...]]:
    """Location id -> its nodes (indexes into `names`, which it fills), innermost inlined
    function first."""
    # Unnamed frames show as their binary, like pprof: "[base name]" or "<unknown>".
    mapping_names = {
        m.id: f"[{os.path.basename(string(m.filename))}]" if string(m.filename) else "<unknown>"
        for m in msg.mapping
    }
    function_names = {f.id: string(f.name) for f in msg.function}
    node_of: dict[str, int] = {}

    def node(name: str) -> int:
        i = node_of.get(name)
        if i is None:
            i = node_of[name] = len(names)
            names.append(name)
        return i

    location_nodes: dict[int, tuple[int, ...]] = {}
    for loc in msg.location:
        if loc.mapping_id and loc.mapping_id not in mapping_names:
            raise ProfileError(
                f"corrupt profile: location {loc.id} refers to missing mapping {loc.mapping_id}"
            )
        unnamed = mapping_names.get(loc.mapping_id, "<unknown>")
        frames = []
        for line in loc.line:
            if line.function_id and line.function_id not in function_names:
                raise ProfileError(
                    f"corrupt profile: location {loc.id} refers to missing function "
                    f"{line.function_id}"
                )
            frames.append(node(function_names.get(line.function_id) or unnamed))
        location_nodes[loc.id] = tuple(frames) if frames else (node(unnamed),)
    return location_nodes


def _merged_samples(msg: Any, string: Callable[[int], str], n_types: int,
                    location_nodes: dict[int, tuple[int, ...]]
                    ) -> tuple[list[tuple[int, tuple[int, ...]]], list[int], list[tuple]]:
    """The distinct stacks, each sample's stack, and each sample's values."""
    stack_index: dict[tuple[int, ...], int] = {}
    stacks: list[tuple[int, tuple[int, ...]]] = []
    sample_stacks: list[int] = []
    # pprof merges its input first: samples with the same stack and labels become one.
    # That matters for the total (a sum of absolute values) when signs mix.
    merged: dict[tuple, list[Number]] = {}
    for sample in msg.sample:
        values: list[Number] = list(sample.value)
        if len(values) != n_types:
            raise ProfileError(
                f"corrupt profile: a sample has {len(values)} values for {n_types} sample types"
            )
        location_ids = tuple(sample.location_id)
        key: tuple = (location_ids,)
        if sample.label:
            key += tuple(sorted(
                (string(lb.key), string(lb.str), lb.num, string(lb.num_unit)) for lb in sample.label
            ))
        same = merged.get(key)
        if same is not None:
            for i, value in enumerate(values):
                same[i] += value
            continue
        merged[key] = values
        stack = stack_index.get(location_ids)
        if stack is None:
            stack = stack_index[location_ids] = len(stacks)
            stacks.append(_reduce_stack(location_ids, location_nodes))
        sample_stacks.append(stack)
    return stacks, sample_stacks, [tuple(values) for values in merged.values()]


def _reduce_stack(
    location_ids: tuple[int, ...], location_nodes: dict[int, tuple[int, ...]]
) -> tuple[int, tuple[int, ...]]:
    """(leaf node or -1 for an empty stack, the distinct nodes of the stack)."""
    nodes: list[int] = []
    for loc_id in location_ids:
        frames = location_nodes.get(loc_id)
        if frames is None:
            raise ProfileError(f"corrupt profile: a sample refers to missing location {loc_id}")
        nodes.extend(frames)
    leaf = nodes[0] if nodes else -1
    return leaf, tuple(dict.fromkeys(nodes))


def parse_folded(text: str) -> Profile:
    """Parse folded stacks (`root;caller;leaf 42` per line, as py-spy and
    stackcollapse-*.pl write them) into a profile with one type, samples/count."""
    names: list[str] = []
    node_of: dict[str, int] = {}
    per_stack: dict[tuple[int, ...], Number] = {}  # leaf-first stack -> value; repeats merge

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = line.rsplit(None, 1)
        value = _number(parts[-1]) if len(parts) == 2 else None
        if value is None:
            raise ProfileError(
                f"not a folded-stacks profile: line {lineno} is not 'frame;frame;... count': "
                f"{_clip(line)!r}"
            )
        frames = [f.strip() for f in parts[0].split(";")]
        leaf_first = []
        for name in reversed(frames):
            if not name:
                continue
            i = node_of.get(name)
            if i is None:
                i = node_of[name] = len(names)
                names.append(name)
            leaf_first.append(i)
        key = tuple(leaf_first)
        per_stack[key] = per_stack.get(key, 0) + value

    if not per_stack:
        raise ProfileError("the folded-stacks profile has no samples")
    stacks = [(key[0] if key else -1, tuple(dict.fromkeys(key))) for key in per_stack]
    return Profile(
        [("samples", "count")], "samples", names, stacks,
        list(range(len(stacks))), [(value,) for value in per_stack.values()],
    )


def _number(text: str) -> Number | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def merge_profiles(profiles: list[Profile]) -> Profile:
    """One profile holding every sample of several (e.g. consecutive CPU windows).

    Like `go tool pprof a.pb.gz b.pb.gz`: functions are matched by name, samples kept.
    """
    if not profiles:
        raise ProfileError("no profiles to merge")
    types = profiles[0].sample_types
    for p in profiles[1:]:
        if p.sample_types != types:
            raise ProfileError(f"cannot merge profiles of different sample types: "
                               f"{types} and {p.sample_types}")
    names: list[str] = []
    index: dict[str, int] = {}
    stacks: list[tuple[int, tuple[int, ...]]] = []
    sample_stacks: list[int] = []
    sample_values: list[tuple[Number, ...]] = []
    for p in profiles:
        remap = []
        for name in p._names:
            if name not in index:
                index[name] = len(names)
                names.append(name)
            remap.append(index[name])
        base = len(stacks)
        stacks.extend((remap[leaf] if leaf >= 0 else -1, tuple(remap[n] for n in nodes))
                      for leaf, nodes in p._stacks)
        sample_stacks.extend(base + s for s in p._sample_stacks)
        sample_values.extend(p._sample_values)
    return Profile(types, profiles[0].default_sample_type, names, stacks, sample_stacks,
                   sample_values)
