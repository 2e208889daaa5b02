"""Colour only on a terminal without NO_COLOR; tables align; machine formats stay plain."""

from __future__ import annotations

import io
import json

import pytest
from findings.findings_support import make_finding

from no_direct_policies.cli import output
from no_direct_policies.cli.report import AuditReport

FINDINGS = [
    make_finding(
        "john",
        user_id="AIDAJOHN",
        annotation="1 managed policy attached directly: AmazonS3FullAccess.",
    ),
    make_finding(
        "alice",
        "COMPLIANT",
        user_id="AIDAALICE",
        annotation="No managed policies attached directly.",
    ),
]


def _render(fmt: str, findings=FINDINGS, *, colour: bool = False) -> str:
    stream = io.StringIO()
    report = AuditReport(stream, fmt, colour=colour)
    for finding in findings:
        report.add(finding)
    report.close()
    return stream.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)

    assert output.use_colour(_Terminal()) is True
    assert output.use_colour(io.StringIO()) is False


def test_no_color_turns_colour_off(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    assert output.use_colour(_Terminal()) is False


def test_empty_no_color_keeps_colour(monkeypatch):
    # no-color.org: only a non-empty NO_COLOR turns colour off.
    monkeypatch.setenv("NO_COLOR", "")

    assert output.use_colour(_Terminal()) is True


def test_coloured_table_paints_only_the_compliance_column():
    lines = _render("table", colour=True).splitlines()

    assert "\x1b[31mNON_COMPLIANT \x1b[0m" in lines[2]
    assert "\x1b[32mCOMPLIANT     \x1b[0m" in lines[4]
    assert lines[2].startswith("123456789012  john  ")
    assert "\x1b[" not in lines[0]


@pytest.mark.parametrize("fmt", ["json", "csv", "ocsf", "asff", "junit", "html"])
def test_machine_formats_are_never_coloured(fmt):
    assert "\x1b[" not in _render(fmt, colour=True)


def test_table_columns_line_up_and_the_annotation_wraps_under_the_row():
    lines = _render("table").splitlines()

    assert lines[0] == "ACCOUNT       USER                  COMPLIANCE      USER ID"
    assert lines[1].split() == ["-" * 12, "-" * 20, "-" * 14, "-" * 21]
    assert lines[4] == "123456789012  alice                 COMPLIANT       AIDAALICE"
    assert lines[5] == "    No managed policies attached directly."
    assert lines[-1] == "2 users: 1 COMPLIANT, 1 NON_COMPLIANT, 0 NOT_APPLICABLE"


def test_table_fits_80_columns_cutting_long_names_with_a_marker():
    long_name = "a-very-long-user-name-that-goes-on-and-on-for-sixty-characters"
    finding = make_finding(long_name, annotation="word " * 60)

    lines = _render("table", [finding]).splitlines()

    assert max(len(line) for line in lines) <= 80
    assert lines[2].split()[1] == long_name[:19] + "\u2026"
    assert " ".join(line.strip() for line in lines[3:-2]) == ("word " * 60).strip()


def test_empty_streamed_documents_are_valid():
    assert json.loads(_render("json", [])) == {
        "Users": [],
        "Summary": {"COMPLIANT": 0, "NON_COMPLIANT": 0, "NOT_APPLICABLE": 0},
    }
    assert json.loads(_render("ocsf", [])) == []
    assert json.loads(_render("asff", [])) == []
