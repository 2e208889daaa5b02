"""The project's top level as the README describes it, and CI running the README's command."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# Self-describing files the Layout table does not need to explain.
UNLISTED = {"README.md", ".gitignore", ".git"}


def _section(heading: str) -> str:
    start = README.index(f"\n{heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def _ignored(name: str) -> bool:
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def test_layout_table_explains_every_top_level_entry_and_no_other():
    rows = re.findall(r"^\| `([^`]+)` \|", _section("## Layout"), flags=re.MULTILINE)
    documented = {row.split("/", 1)[0] for row in rows}
    on_disk = {
        entry.name
        for entry in ROOT.iterdir()
        if entry.name not in UNLISTED and not _ignored(entry.name)
    }

    assert documented == on_disk
    assert all((ROOT / row.rstrip("/")).exists() for row in rows)


def test_ci_runs_exactly_the_readmes_test_command():
    quick_start = _section("## Quick start")
    block = quick_start.split("```sh\n", 1)[1].split("\n```", 1)[0]
    (test_command,) = [
        line.split("#", 1)[0].strip()
        for line in block.splitlines()
        if "runs ruff and the tests" in line
    ]
    ci_lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]

    assert test_command == "make test"
    assert ci_lines[-1] == f"exec {test_command}"
    assert not any("pytest" in line or "make " in line for line in ci_lines[:-1])
