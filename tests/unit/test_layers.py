"""The house is one-way: no import cycles in tuner/, and reports read without reaching back
into the optimizer or the trial executor (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "tuner"


def import_graph() -> dict[str, set[str]]:
    mods = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for c in [target] + [f"{target}.{a.name}" for a in node.names]:
                    if c in mods and c != m:
                        graph[m].add(c)
            elif isinstance(node, ast.Import):
                graph[m].update(a.name for a in node.names if a.name in mods and a.name != m)
    return graph


def test_no_import_cycles():
    graph = import_graph()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo.extend(graph[m])
        return False

    cycles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if reaches(b, a)})
    assert not cycles, f"import cycles: {cycles}"


def test_reports_do_not_import_the_optimizer_or_the_trial():
    graph = import_graph()
    back = {(m, t) for m in graph if m.startswith("tuner.reports") for t in graph[m]
            if t in ("tuner.optimize", "tuner.trial", "tuner.app", "tuner.cli")}
    assert not back, back


def test_optuna_internals_are_reached_from_the_storage_package_only():
    import re

    internal = re.compile(r"\._storage\b|\._trial_id\b|fixed_params|\._backend\b")
    found = [f"{p.relative_to(ROOT.parent)}:{n}" for p in ROOT.rglob("*.py")
             if "storage" not in p.relative_to(ROOT).parts
             for n, line in enumerate(p.read_text().splitlines(), 1) if internal.search(line)]
    assert not found, found
