"""Render audit verdicts and remediation results as a table, JSON or CSV.

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

FORMATS = ("table", "json", "csv")
AUDIT_FIELDS = ("UserName", "UserId", "Path", "ComplianceType", "Annotation")
ACTION_FIELDS = ("UserName", "UserId", "Status", "Step", "Action", "Parameters")
_COLOURS = {"COMPLIANT": "32", "NON_COMPLIANT": "31", "NOT_APPLICABLE": "33", "REFUSED": "31"}


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


def summary_counts(rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """How many users have each compliance type (all three keys always present)."""
    counts = {"COMPLIANT": 0, "NON_COMPLIANT": 0, "NOT_APPLICABLE": 0}
    for row in rows:
        counts[row["ComplianceType"]] += 1
    return counts


def render_audit(rows: Sequence[Mapping[str, str]], fmt: str, *, colour: bool = False) -> str:
    """The audit report: one row per user with its compliance type and annotation."""
    counts = summary_counts(rows)
    if fmt == "json":
        return json.dumps({"Summary": counts, "Users": list(rows)}, indent=2)
    if fmt == "csv":
        return _csv(AUDIT_FIELDS, ([row[field] for field in AUDIT_FIELDS] for row in rows))
    body = table(
        ("USER", "USER ID", "COMPLIANCE", "ANNOTATION"),
        (
            (row["UserName"], row["UserId"], row["ComplianceType"], row["Annotation"])
            for row in rows
        ),
        colour_column=2,
        colour=colour,
    )
    total = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    return f"{body}\n\n{len(rows)} users: {total}"


def describe_action(action: Mapping[str, Any]) -> str:
    """One action as ``Operation Key=value ...``, the way the IAM API takes it."""
    parameters = " ".join(f"{key}={value}" for key, value in action.items() if key != "Action")
    return f"{action['Action']} {parameters}".rstrip()


def render_remediation(
    results: Sequence[Mapping[str, Any]],
    refusals: Sequence[Mapping[str, str]],
    fmt: str,
    *,
    colour: bool = False,
) -> str:
    """The helper's results (planned or done) and the users it refused, in ``fmt``."""
    if fmt == "json":
        return json.dumps({"Results": list(results), "Refused": list(refusals)}, indent=2)
    if fmt == "csv":
        return _csv(ACTION_FIELDS, _action_rows(results))
    blocks = []
    for result in results:
        groups = ", ".join(result["Groups"]) or "-"
        header = f"{result['UserName']} ({result['UserId']}): {result['Status']}, groups: {groups}"
        steps = [
            f"  {step}. {describe_action(action)}"
            for step, action in enumerate(result["Actions"], start=1)
        ]
        blocks.append("\n".join([header, *steps]))
    blocks.extend(
        f"{refusal['UserName']}: {paint('REFUSED', 'REFUSED', colour)}: {refusal['Error']}"
        for refusal in refusals
    )
    return "\n\n".join(blocks) if blocks else "No user to remediate."


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
    writer.writerow(fields)
    writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")
