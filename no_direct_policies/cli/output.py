"""Render remediation results as a table, JSON or CSV; colour for terminals.

Tables are for people (colour only when the stream is a terminal and
``NO_COLOR`` is unset or empty); JSON and CSV are for pipelines and never coloured.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "json", "csv", "html")  # of remediate; audit's are in report
ACTION_FIELDS = ("UserName", "UserId", "Status", "Step", "Action", "Parameters")
_COLOURS = {
    "COMPLIANT": "32",
    "NON_COMPLIANT": "31",
    "NOT_APPLICABLE": "33",
    "REFUSED": "31",
    "STOPPED": "33",
}


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: Any) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts with ``= + - @``, a tab
    or a carriage return (an IAM user name may) gets a leading ``'`` (OWASP's
    defence against formula injection). JSON keeps the exact text."""
    text = str(cell)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_line(values: Iterable[Any]) -> str:
    """One CSV row, each cell made spreadsheet-safe, ending with a newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([spreadsheet_safe(v) for v in values])
    return buffer.getvalue()


def use_colour(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is non-empty.

    https://no-color.org: an empty NO_COLOR is the same as no NO_COLOR at all.
    """
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def paint(text: str, key: str, colour: bool) -> str:
    """``text`` in the colour that goes with ``key`` (a compliance type or status)."""
    code = _COLOURS.get(key)
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    colour_column: int | None = None,
    colour: bool = False,
) -> str:
    """A plain-text table; the cells of ``colour_column`` are coloured by their value."""
    materialised = [list(row) for row in rows]
    widths = [len(header) for header in headers]
    for row in materialised:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in materialised:
        cells = []
        for index, (cell, width) in enumerate(zip(row, widths, strict=True)):
            padded = cell.ljust(width)
            cells.append(paint(padded, cell, colour) if index == colour_column else padded)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def describe_action(action: Mapping[str, Any]) -> str:
    """One action as ``Operation Key=value ...``, the way the IAM API takes it."""
    parameters = " ".join(f"{key}={value}" for key, value in action.items() if key != "Action")
    return f"{action['Action']} {parameters}".rstrip()


def remediation_document(
    results: Sequence[Mapping[str, Any]],
    failures: Sequence[Mapping[str, str]],
    **extra: Any,
) -> str:
    """``--format json``: the helper's results, and the users refused or stopped part-way."""
    document = {
        "Results": list(results),
        "Refused": [failure for failure in failures if failure["Outcome"] == "REFUSED"],
        "Stopped": [failure for failure in failures if failure["Outcome"] == "STOPPED"],
        **extra,
    }
    return json.dumps(document, indent=2)


def remediation_block(outcome: Mapping[str, Any], *, colour: bool = False) -> str:
    """One user's outcome for the table: the result and its numbered actions, or the failure."""
    if "Error" in outcome:
        label = paint(outcome["Outcome"], outcome["Outcome"], colour)
        return f"{outcome['UserName']} ({outcome['UserId']}): {label}: {outcome['Error']}"
    groups = ", ".join(outcome["Groups"]) or "-"
    header = f"{outcome['UserName']} ({outcome['UserId']}): {outcome['Status']}, groups: {groups}"
    steps = [
        f"  {step}. {describe_action(action)}"
        for step, action in enumerate(outcome["Actions"], start=1)
    ]
    return "\n".join([header, *steps])


def remediation_csv_header() -> str:
    """The header row of ``remediate --format csv``."""
    return _csv(ACTION_FIELDS, [])


def remediation_csv_rows(outcome: Mapping[str, Any]) -> str:
    """One user's action rows for ``--format csv`` (none for a refused or stopped user)."""
    if "Error" in outcome:
        return ""
    return _csv((), _action_rows([outcome]))


def _action_rows(results: Iterable[Mapping[str, Any]]) -> Iterable[list[str]]:
    for result in results:
        for step, action in enumerate(result["Actions"], start=1):
            parameters = {key: value for key, value in action.items() if key != "Action"}
            yield [
                result["UserName"],
                result["UserId"],
                result["Status"],
                str(step),
                action["Action"],
                json.dumps(parameters, sort_keys=True),
            ]


def _csv(fields: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if fields:
        writer.writerow(fields)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue().rstrip("\n")
