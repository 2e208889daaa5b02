"""Reading the documentation's tables, so tests compare them with the code they restate.

Every table in ``README.md`` and ``docs/`` that restates code (the rule's parameters,
the helper's payload keys, the roles' IAM actions, the CLI's exit codes and options)
is read here and compared, in the tests, with the code itself: the documentation
can say anything about *why*, but a name or a value in such a table has to be true.

The code the tables restate is imported in the functions at the end of this module,
and only there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

_HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
_CODE = re.compile(r"`([^`]+)`")


def _path(doc: str | Path) -> Path:
    """``"rule"`` or ``"docs/rule.md"`` or a path -> the file."""
    if isinstance(doc, Path):
        return doc
    if doc == "README":
        return README
    return ROOT / doc if "/" in doc else DOCS / f"{doc}.md"


def _lines_outside_code(text: str) -> list[tuple[str, bool]]:
    """Each line, and whether it is inside a fenced code block."""
    fenced, lines = False, []
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            lines.append((line, True))
        else:
            lines.append((line, fenced))
    return lines


def headings(doc: str | Path) -> list[str]:
    """The titles of the document's headings, in order (lines in code blocks are not headings)."""
    return [
        match.group(2)
        for line, in_code in _lines_outside_code(_path(doc).read_text())
        if not in_code and (match := _HEADING.match(line))
    ]


def section(doc: str | Path, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    lines = _lines_outside_code(_path(doc).read_text())
    start = level = None
    for index, (line, in_code) in enumerate(lines):
        match = None if in_code else _HEADING.match(line)
        if match is None:
            continue
        if start is not None and len(match.group(1)) <= level:
            return "\n".join(text for text, _ in lines[start:index])
        if start is None and match.group(2) == heading:
            start, level = index + 1, len(match.group(1))
    if start is None:
        raise AssertionError(f"{_path(doc).relative_to(ROOT)} has no heading {heading!r}")
    return "\n".join(text for text, _ in lines[start:])


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SEPARATOR.split(line.strip())[1:-1]]


def tables(doc: str | Path, heading: str) -> list[list[dict[str, str]]]:
    """Every Markdown table under ``heading``: a list of rows, each ``{header: cell}``."""
    found: list[list[dict[str, str]]] = []
    block: list[str] = []
    for line, in_code in [*_lines_outside_code(section(doc, heading)), ("", False)]:
        if not in_code and line.startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2:
            header = _cells(block[0])
            found.append([dict(zip(header, _cells(row), strict=True)) for row in block[2:]])
        block = []
    return found


def table(doc: str | Path, heading: str, first_header: str | None = None) -> list[dict[str, str]]:
    """The one table under ``heading`` (or the one whose first column is ``first_header``)."""
    candidates = [
        rows
        for rows in tables(doc, heading)
        if rows and (first_header is None or next(iter(rows[0])) == first_header)
    ]
    if len(candidates) != 1:
        raise AssertionError(
            f"{_path(doc).relative_to(ROOT)}, {heading!r}: {len(candidates)} tables "
            f"{'' if first_header is None else f'with first column {first_header!r} '}"
            "where one was expected"
        )
    return candidates[0]


def column(rows: list[dict[str, str]], header: str | None = None) -> list[str]:
    """One column's cells (the first column by default)."""
    return [row[header] if header else next(iter(row.values())) for row in rows]


def code_names(cell: str) -> list[str]:
    """The names in backticks in a cell, in order: ``"`A`, `B` (x)"`` -> ``["A", "B"]``."""
    return _CODE.findall(cell)


def code_blocks(doc: str | Path, heading: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` under ``heading``."""
    blocks, current = [], None
    for line in section(doc, heading).splitlines():
        if current is None and line == f"```{language}":
            current = []
        elif current is not None and line == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


# --- The code the tables restate (the one place the tests import it from for that).


def rule_parameters() -> tuple[str, ...]:
    """The rule parameters the code parses, in order."""
    from no_direct_policies.compliance import RULE_PARAMETERS

    return RULE_PARAMETERS


def payload_keys() -> tuple[str, ...]:
    """The keys the helper Lambda's payload takes, in order."""
    from no_direct_policies.move.request import PAYLOAD_KEYS

    return PAYLOAD_KEYS


def exit_codes() -> dict[str, int]:
    """The command-line tool's exit codes: ``{"EXIT_OK": 0, ...}``."""
    from no_direct_policies.cli import errors

    return {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}


def cli_subcommand_options() -> set[str]:
    """Every long option of the command-line tool's subcommands (``--help`` aside)."""
    from no_direct_policies.cli.main import build_parser

    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command")
    return {
        option
        for subparser in commands.choices.values()
        for action in subparser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def change_log_fields(folder: Path) -> list[str]:
    """The fields of one line the change log writes (into a file in ``folder``), in order."""
    from no_direct_policies.cli.change_log import ChangeLog

    log = ChangeLog(str(folder / "changes.jsonl"), "123456789012")
    log.for_user("john", "AIDAEXAMPLE")
    log.write("CreateGroup", {"GroupName": "g"}, "ok")
    log.close()
    (line,) = (folder / "changes.jsonl").read_text().splitlines()
    return list(json.loads(line))
