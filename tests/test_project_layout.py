"""The README as a front page: its size, its Layout tree against the folders on disk, its
links into docs/, and CI running the README's test command."""

from __future__ import annotations

import fnmatch
import re

import doc_tables

ROOT = doc_tables.ROOT
README = doc_tables.README
# Dot-folders are tooling; of them only CI's belongs to the project's layout.
LISTED_DOT_FOLDERS = {".ci"}
# Where code points readers into the docs: "see docs/<file>.md, <heading>".
DOC_REFERENCE = re.compile(r"docs/([\w-]+\.md)(?:, ([A-Z][\w ,'`-]*?))?[).]")


def _ignored(path) -> bool:
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)


def _folders(parent, prefix: str = "") -> set[str]:
    """Every folder under ``parent``, as paths relative to it, outside what git ignores."""
    found = set()
    for entry in parent.iterdir():
        if not entry.is_dir() or _ignored(entry):
            continue
        if entry.name.startswith(".") and entry.name not in LISTED_DOT_FOLDERS:
            continue
        found.add(f"{prefix}{entry.name}")
        found |= _folders(entry, f"{prefix}{entry.name}/")
    return found


def layout_tree() -> dict[str, str]:
    """The README's Layout block: folder path (``"tests/rule"``) -> its description.

    One line per folder, ``<indent><name>/  <description>``; two spaces of indent per
    level below the top.
    """
    (block,) = doc_tables.code_blocks(README, "Layout", "text")
    tree: dict[str, str] = {}
    parents: list[str] = []
    for line in block.splitlines():
        match = re.fullmatch(r"( *)([\w.-]+)/ {2,}(\S.*)", line)
        assert match, f"not a '<folder>/  <description>' line: {line!r}"
        indent, name, description = match.groups()
        depth = len(indent) // 2
        assert len(indent) == 2 * depth <= 2 * len(parents), line
        parents[depth:] = [name]
        tree["/".join(parents)] = description
    return tree


def test_readme_is_a_front_page():
    assert README.stat().st_size < 15_000


def test_layout_lists_every_folder_and_no_other():
    assert set(layout_tree()) == _folders(ROOT)


def test_readme_links_every_doc_and_only_existing_ones():
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README.read_text()))
    on_disk = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert linked == on_disk


def test_references_to_the_docs_in_code_name_existing_sections():
    sources = [
        ROOT / "Makefile",
        *(ROOT / "deploy").glob("*.py"),
        *(ROOT / "deploy").glob("*.sh"),
        *(ROOT / "no_direct_policies").rglob("*.py"),
    ]
    references = [
        (source, doc, heading)
        for source in sources
        for doc, heading in DOC_REFERENCE.findall(source.read_text())
    ]
    assert references
    for source, doc, heading in references:
        where = f"{source.relative_to(ROOT)} -> docs/{doc}"
        assert (ROOT / "docs" / doc).is_file(), where
        assert not heading or heading in doc_tables.headings(f"docs/{doc}"), where


def test_ci_runs_exactly_the_readmes_test_command():
    (block,) = doc_tables.code_blocks(README, "Quick start", "sh")
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


def test_every_relative_link_in_the_readme_and_docs_resolves():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text())
        if not (page.parent / target).exists()
    ]
    assert not broken


def test_every_project_path_the_readme_and_docs_name_exists():
    # A path in backticks that starts with a project folder (`no_direct_policies/move/plan.py`)
    # names a file or folder that must be there, so a move in the code shows up here.
    folders = tuple(f"{name}/" for name in _folders(ROOT) if "/" not in name)
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    missing = [
        f"{page.relative_to(ROOT)}: {name}"
        for page in pages
        for name in set(re.findall(r"`([\w./-]+)`", page.read_text()))
        if name.startswith(folders) and not (ROOT / name).exists()
    ]
    assert folders
    assert not missing
