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
            if t in ("tuner.optimize", "tuner.trial", "tuner.executor")
            or t.startswith(("tuner.app", "tuner.cli"))}
    assert not back, back


def optuna_private_names() -> set[str]:
    """Every _private name Optuna's own source defines or assigns (methods, attributes,
    functions, modules): what tuner must reach through tuner/storage/ only."""
    import optuna

    names = set()
    for p in Path(optuna.__file__).parent.rglob("*.py"):
        if p.stem.startswith("_") and not p.stem.startswith("__"):
            names.add(p.stem)
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def optuna_private_uses(tree: ast.AST, private: set[str]) -> list[tuple[int, str]]:
    """Where code reaches a private name of Optuna's: an attribute of something not its own
    (self, cls), or an import from a private optuna module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("optuna"):
            parts = node.module.split(".") + [a.name for a in node.names]
            found += [(node.lineno, p) for p in parts if p.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("optuna")
                      and any(p.startswith("_") for p in a.name.split("."))]
    return found


def test_optuna_internals_are_reached_from_the_storage_package_only():
    private = optuna_private_names()
    assert {"_study_id", "_trial_id", "_stop_flag", "_storage", "_backend"} <= private
    found = [f"{p.relative_to(ROOT.parent)}:{line}: {name}" for p in ROOT.rglob("*.py")
             if "storage" not in p.relative_to(ROOT).parts
             and not p.name.endswith("_pb2.py")  # protobuf's generated code, not Optuna's
             for line, name in optuna_private_uses(ast.parse(p.read_text()), private)]
    assert not found, found


def test_the_private_name_check_finds_them():
    private = optuna_private_names()
    code = ("study._stop_flag = True\nx = summary._study_id\nself._study_id = 1\n"
            "from optuna.storages._rdb import models\n")
    assert sorted(name for _, name in optuna_private_uses(ast.parse(code), private)) == [
        "_rdb", "_stop_flag", "_study_id"]


CLI_MAY_IMPORT = {"tuner.app", "tuner.errors", "tuner.attrs", "tuner.format"}


def test_the_cli_imports_only_app_and_its_own_helpers():
    """The CLI reads options, calls one app function and renders: every layer below app is
    reached through app (imports inside functions count)."""
    graph = import_graph()
    wrong = {(m, t) for m in graph if m.startswith("tuner.cli") for t in graph[m]
             if not t.startswith("tuner.cli") and t not in CLI_MAY_IMPORT and t != "tuner"}
    assert not wrong, sorted(wrong)


def test_the_cli_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    fake = tmp_path / "tuner"
    (fake / "cli").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "space.py").write_text("")
    (fake / "app.py").write_text("")
    (fake / "cli" / "__init__.py").write_text("def f():\n    from ..space import MAX_GRID\n"
                                               "    from .. import app\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", fake)
    graph = import_graph()
    assert graph["tuner.cli"] - {"tuner"} == {"tuner.space", "tuner.app"}


def test_no_two_test_modules_share_a_name():
    """pytest (rootdir conftest, no packages) refuses a second tests/*/test_x.py at
    collection, which stops the whole suite."""
    names = [p.name for p in (ROOT.parent / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


MAX_FUNCTION_LINES, MAX_MODULE_LINES = 60, 500


def test_functions_and_modules_stay_readable():
    """A function a person can read on one screen, a module in one sitting (protobuf's
    generated code aside)."""
    long = []
    for p in ROOT.rglob("*.py"):
        if p.name.endswith("_pb2.py"):
            continue
        text = p.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            long.append(f"{p.relative_to(ROOT.parent)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{p.relative_to(ROOT.parent)}:{node.lineno} {node.name}: {n}")
    assert not long, long
