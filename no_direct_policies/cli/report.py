"""The audit report, written one finding at a time.

``table``, ``csv``, ``json``, ``ocsf`` and ``asff`` are streamed: each user is
written as it is read, so memory does not grow with the number of users (JSON
arrays are opened, written element by element, then closed). ``junit`` and
``html`` need every finding at once (counts in the root element, a sortable
page), so they hold them until the end.

The table fits the terminal (80 columns when the output is not one): long
user names and IDs are cut with ``…``, the annotation wraps under the row. JSON
carries the full text.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from no_direct_policies.cli.output import csv_line, paint
from no_direct_policies.findings.asff import to_asff
from no_direct_policies.findings.html_report import render_html
from no_direct_policies.findings.junit import findings_to_junit
from no_direct_policies.findings.model import COMPLIANCE_TYPES, Finding
from no_direct_policies.findings.ocsf import to_ocsf

FORMATS = ("table", "json", "csv", "ocsf", "asff", "junit", "html")
STREAMED = ("table", "json", "csv", "ocsf", "asff")
CSV_FIELDS = ("UserName", "UserId", "Path", "ComplianceType", "Annotation", "AccountId")
TABLE_WIDTH = 80
MARKER = "…"
_ACCOUNT, _USER, _VERDICT, _USER_ID = 12, 20, 14, 21
_INDENT = "    "


def table_width(stream: TextIO) -> int:
    """The terminal's width when the report goes to one (at least 80), else 80."""
    isatty = getattr(stream, "isatty", None)
    if isatty and isatty():
        return max(TABLE_WIDTH, shutil.get_terminal_size((TABLE_WIDTH, 24)).columns)
    return TABLE_WIDTH


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters; a cut one ends with the marker ``…``."""
    return text if len(text) <= width else text[: width - 1] + MARKER


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


class AuditReport:
    """Write findings in ``fmt`` to ``stream`` as they come; ``close`` ends the document."""

    def __init__(
        self,
        stream: TextIO,
        fmt: str,
        *,
        colour: bool = False,
        width: int = TABLE_WIDTH,
    ) -> None:
        self.stream, self.format, self.colour = stream, fmt, colour
        self.counts = dict.fromkeys(COMPLIANCE_TYPES, 0)
        self.accounts: set[str] = set()
        self.kept: list[Finding] = []  # junit and html only
        self.written = 0
        self.started = False
        self.closed = False
        user_width = min(64, _USER + max(0, width - TABLE_WIDTH))
        self.widths = (_ACCOUNT, user_width, _VERDICT, _USER_ID)
        self.wrap = textwrap.TextWrapper(
            width=width, initial_indent=_INDENT, subsequent_indent=_INDENT
        )

    def _write(self, text: str) -> None:
        self.stream.write(text)

    def start(self) -> None:
        """The header (table, CSV) or the opening of the JSON document, written with the
        first finding (or at the end): a run that fails before any writes nothing."""
        if self.started:
            return
        self.started = True
        if self.format == "table":
            header = _row(("ACCOUNT", "USER", "COMPLIANCE", "USER ID"), self.widths).rstrip()
            self._write(header + "\n" + "  ".join("-" * w for w in self.widths) + "\n")
        elif self.format == "csv":
            self._write(_csv_line(CSV_FIELDS))
        elif self.format == "json":
            self._write('{\n  "Users": [')
        elif self.format in ("ocsf", "asff"):
            self._write("[")

    def add(self, finding: Finding) -> None:
        """One user's finding."""
        self.start()
        self.counts[finding.compliance_type] += 1
        self.accounts.add(finding.account_id)
        if self.format in ("junit", "html"):
            self.kept.append(finding)
            return
        if self.format == "table":
            self._write(self._table_row(finding))
        elif self.format == "csv":
            record = finding.to_json_dict()
            self._write(_csv_line([record[field] for field in CSV_FIELDS]))
        else:
            self._element(self._json_element(finding))
        self.written += 1

    def _json_element(self, finding: Finding) -> Any:
        if self.format == "ocsf":
            return to_ocsf(finding)
        if self.format == "asff":
            return to_asff(finding)
        return finding.to_json_dict()

    def _element(self, value: Any) -> None:
        indent = "    " if self.format == "json" else "  "
        text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)
        separator = "," if self.written else ""
        self._write(f"{separator}\n{indent}{text}")

    def _table_row(self, finding: Finding) -> str:
        account, user, verdict, user_id = self.widths
        cells = (
            cut(finding.account_id, account),
            cut(finding.user_name, user),
            finding.compliance_type.ljust(verdict),
            cut(finding.user_id, user_id),
        )
        row = _row(cells, self.widths)
        if self.colour:
            start = account + user + 4
            verdict_cell = row[start : start + verdict]
            row = (
                row[:start]
                + paint(verdict_cell, finding.compliance_type, True)
                + row[start + verdict :]
            )
        lines = [row.rstrip(), *self.wrap.wrap(finding.annotation)]
        return "\n".join(lines) + "\n"

    def summary(self, failed_accounts: int = 0) -> str:
        """``9 users: 2 COMPLIANT, ...`` and, for several accounts, how many."""
        users = sum(self.counts.values())
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.counts.items())
        text = f"{users} users: {kinds}"
        if len(self.accounts) > 1 or failed_accounts:
            text += f"; {len(self.accounts)} accounts"
        if failed_accounts:
            text += f", {failed_accounts} could not be audited"
        return text

    def abort(self) -> None:
        """The run failed part-way: end a JSON document already opened, so that what was
        written still parses (JSON says ``"Incomplete": true``); other formats stop as they are.
        A failure to write is left to the error already on its way."""
        if not self.started or self.closed or self.format not in ("json", "ocsf", "asff"):
            return
        self.closed = True
        with contextlib.suppress(Exception):
            if self.format == "json":
                self._write("\n  ]," if self.written else "],")
                body = json.dumps({"Summary": self.counts, "Incomplete": True}, indent=2)
                self._write("\n" + body[2:] + "\n")
            else:
                self._write("\n]\n" if self.written else "]\n")

    def close(self, accounts: Sequence[Mapping[str, str]] | None = None) -> None:
        """End the document. ``accounts``: each account's status (multi-account runs)."""
        self.start()
        self.closed = True
        failed = sum(1 for account in accounts or () if account.get("Status") == "FAILED")
        if self.format == "table":
            self._write(f"\n{self.summary(failed)}\n")
        elif self.format == "json":
            self._write("\n  ]," if self.written else "],")
            tail: dict[str, Any] = {"Summary": self.counts}
            if accounts is not None:
                tail["Accounts"] = list(accounts)
            body = json.dumps(tail, indent=2, ensure_ascii=False)
            self._write("\n" + body[2:] + "\n")  # the object's members, after "Users"
        elif self.format in ("ocsf", "asff"):
            self._write("\n]\n" if self.written else "]\n")
        elif self.format == "junit":
            self._write(findings_to_junit(self.kept))
        elif self.format == "html":
            self._write(render_html(self.kept, plan=self.plan))

    plan: list[dict[str, Any]] | None = None  # html of remediate: the plan picture


def _csv_line(values: Sequence[Any]) -> str:
    return csv_line(values)  # spreadsheet-safe cells (see output.spreadsheet_safe)
