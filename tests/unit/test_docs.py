"""The README and docs/ stay true: every link leads somewhere, every page is reachable from the
README, every `tuner` command and option they name exists, every file they name is there, and
the README's first job loads."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]+\]\(([^)\s]+)\)")
CODE = re.compile(r"```[a-z]*\n(.*?)```|`([^`\n]+)`", re.S)
# A file of this repository named in running text or code: scripts/demo.sh, bench/scale.py ...
REPO_PATH = re.compile(r"(?<![\w/.-])((?:scripts|bench|jobs|tests|tuner|docs|\.ci)/[\w./-]*\w)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_slug(m) for m in re.findall(r"^#+ (.*)$", text, re.M)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return LINK.findall(text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_lead_somewhere(page):
    broken = []
    for target in _links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not this repository's
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading '{anchor}' in {dest.name}")
    assert not broken, f"{page.name}: {broken}"


def test_every_page_is_reachable_from_the_readme():
    seen, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen or not page.exists() or page.suffix != ".md":
            continue
        seen.add(page)
        todo += [(page.parent / t.partition("#")[0]).resolve() for t in _links(page)
                 if not re.match(r"[a-z]+:", t) and t.partition("#")[0]]
    assert set(PAGES) <= seen, sorted(str(p.relative_to(ROOT)) for p in set(PAGES) - seen)


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def _commands() -> dict[str, click.Command]:
    from tuner.cli import cli

    out = {}
    for name, cmd in cli.commands.items():
        out[name] = cmd
        for sub, subcmd in getattr(cmd, "commands", {}).items():
            out[f"{name} {sub}"] = subcmd
    return out


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}


def _tuner_lines(text: str) -> list[str]:
    lines = []
    for block, span in CODE.findall(text):
        for line in (block or span).splitlines():
            line = line.strip().removeprefix("$ ")
            for m in re.finditer(r"(^|\s|\.venv/bin/)tuner ([a-z][\w-]*(?: [a-z][\w-]*)?)(.*)",
                                 line):
                start = m.start() == 0 or m.group(1) == ".venv/bin/"
                lines.append(("!" if start else "") + m.group(2) + m.group(3))
    return lines


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_commands_and_options_named_exist(page):
    commands = _commands()
    wrong = []
    for line in _tuner_lines(page.read_text()):
        words = line.lstrip("!").split()
        name = " ".join(words[:2]) if " ".join(words[:2]) in commands else words[0]
        if name not in commands:
            if line.startswith("!"):  # written as a command, not a sentence about tuner
                wrong.append(f"tuner {words[0]}: no such command")
            continue
        # Options up to a comment, a pipe or another program on the same line.
        rest = re.split(r"\s#|\||&&|;|\)\s", line.lstrip("!")[len(name):])[0]
        for opt in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", rest):
            if opt not in _options(commands[name]) and opt not in ("-h", "--help"):
                wrong.append(f"tuner {name} {opt}: no such option")
    assert not wrong, f"{page.name}: {sorted(set(wrong))}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_files_named_exist(page):
    missing = []
    for block, span in CODE.findall(page.read_text()):
        for path in REPO_PATH.findall(block or span):
            if any(ch in path for ch in "<*{") or path.endswith((".", "/")):
                continue
            if not (ROOT / path).exists():
                missing.append(path)
    assert not missing, f"{page.name}: {sorted(set(missing))}"


def test_the_readme_job_loads(tmp_path):
    from tuner.job.load import parse_job

    text = (ROOT / "README.md").read_text()
    job = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    assert parse_job(job, "README.md").name == "tracelog"


def test_the_checks_catch_mistakes(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[x](nowhere.md) [y](#no-such)\n\n# Real\n\n`tuner optimise x`, "
                    "`tuner best --jsn`\n")
    assert len([t for t in _links(page)]) == 2
    assert "no-such" not in _anchors(page) and "real" in _anchors(page)
    lines = _tuner_lines(page.read_text())
    assert lines == ["!optimise x", "!best --jsn"]
    assert "--jsn" not in _options(_commands()["best"])
