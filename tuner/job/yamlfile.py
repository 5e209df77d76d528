"""YAML as a job file is read: line marks for every field, limits that refuse absurd files by
counting (never by running into Python's recursion limit), and values as the person wrote
them (`off` stays `off`, `1.10` stays `1.10`)."""

from __future__ import annotations

import re
from typing import Any

import yaml

Path_ = tuple[Any, ...]


class Loader(yaml.SafeLoader):
    """YAML as a person means it: booleans are only true and false (YAML 1.2); `yes`, `no`,
    `on` and `off` stay text, since the programs being tuned read them as text."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        # Refused as soon as it is seen, for PyYAML is slow: some 20 us a value, and more
        # with every open level ([[[[... thousands deep takes seconds).
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH or self._nodes > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep; a job never is"
                    if self._depth > MAX_DEPTH else
                    f"more than {MAX_NODES} values written; a job never has that many",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner looks up to 1024 characters ahead past every open [ or {, in time that
        # grows with the number open: refused before, not after.
        if self.flow_level >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep; a job never is",
                self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A value YAML's own types cannot hold (a date 2001-02-30, a number of 5,000 digits)
        # is a mistake in the file, at the value's line.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, AttributeError, TypeError) as exc:
            problem = ("a number of more than 4300 digits"
                       if "integer string conversion" in str(exc) else str(exc)
                       if isinstance(exc, ValueError) else
                       f"not a valid {str(node.tag).rsplit(':', 1)[-1]}")
            raise yaml.constructor.ConstructorError(None, None, problem,
                                                    node.start_mark) from None


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

MAX_DEPTH = 100  # levels of nesting; a job has fewer than 10
MAX_NODES = 10_000  # values and keys as written (an alias is one); a job has a few hundred

# Aliases can make a small file expand into billions of values ("billion laughs"): a job
# never needs more than this many.
MAX_VALUES = 100_000


class TooBig(Exception):
    pass


# "\ud800" in a double-quoted string makes text no program can be given, nor print.
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotText(Exception):
    def __init__(self, path: Path_, line: int):
        super().__init__(path)
        self.path, self.line = path, line


def collect_lines(node: yaml.Node, path: Path_, out: dict[Path_, int],
                   texts: dict[Path_, str], seen: list[int]) -> None:
    """Line of every field, and the source text of every plain scalar (values as written).

    A loop, not recursion: a recursive alias is a cycle, and code that runs into Python's
    recursion limit makes the garbage collector run finalizers at that depth, where they fail
    (the suite's "unraisable RecursionError")."""
    stack = [(node, path)]
    while stack:
        node, path = stack.pop()
        seen[0] += 1
        if seen[0] > MAX_VALUES or len(path) > MAX_DEPTH:
            raise TooBig
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            children = []
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                sub = path + (key.value,)
                out[sub] = key.start_mark.line + 1
                if _SURROGATE.search(key.value):
                    raise NotText(sub, out[sub])
                children.append((value, sub))
            stack.extend(reversed(children))  # visited in the file's order
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path + (i,)) for i, item in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.ScalarNode):
            if _SURROGATE.search(node.value):
                raise NotText(path, node.start_mark.line + 1)
            if node.style is None:
                texts[path] = node.value


def _reads_back(value: Any, text: str) -> bool:
    """Whether a typed YAML value prints back as the text the user wrote."""
    if isinstance(value, bool):
        return text.lower() in ("true", "false")
    if isinstance(value, int):
        return str(value) == text
    if isinstance(value, float):
        return repr(value) == text
    return True


def as_written(data: dict[str, Any], texts: dict[Path_, str]) -> dict[str, Any]:
    """Enum values, defaults, env values and command words keep the text the user wrote when
    YAML's typing would change it (`1.10` is not 1.1, `0x10` is not 16). An enum is either all
    typed (every value reads back) or all text, so that its values compare with each other."""
    params = data.get("parameters")
    for name, p in (params.items() if isinstance(params, dict) else ()):
        if not isinstance(p, dict) or not isinstance(p.get("enum"), list):
            continue
        base = ("parameters", name)
        items = [(v, texts.get(base + ("enum", i))) for i, v in enumerate(p["enum"])]
        if all(t is None or _reads_back(v, t) for v, t in items):
            continue
        p["enum"] = [t if t is not None and isinstance(v, (bool, int, float)) else v
                     for v, t in items]
        t = texts.get(base + ("default",))
        if t is not None and isinstance(p.get("default"), (bool, int, float)):
            p["default"] = t
    spec = data.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    for cname, c in (containers.items() if isinstance(containers, dict) else ()):
        if not isinstance(c, dict):
            continue
        base = ("spec", "containers", cname)
        for field in ("env", "command"):
            value = c.get(field)
            keys = value.keys() if isinstance(value, dict) else \
                range(len(value)) if isinstance(value, list) else ()
            for k in keys:
                t = texts.get(base + (field, k))
                if t is not None and isinstance(value[k], (bool, int, float)):
                    value[k] = t
    return data
