"""Colour only on a terminal without NO_COLOR; tables align; machine formats stay plain."""

from __future__ import annotations

import io

import pytest

from no_direct_policies.cli import output

ROWS = [
    {
        "UserName": "john",
        "UserId": "AIDAJOHN",
        "Path": "/",
        "ComplianceType": "NON_COMPLIANT",
        "Annotation": "1 managed policy attached directly: AmazonS3FullAccess.",
    },
    {
        "UserName": "alice",
        "UserId": "AIDAALICE",
        "Path": "/",
        "ComplianceType": "COMPLIANT",
        "Annotation": "No managed policies attached directly.",
    },
]


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
    text = output.render_audit(ROWS, "table", colour=True)

    lines = text.splitlines()
    assert "\x1b[31mNON_COMPLIANT\x1b[0m" in lines[2]
    assert "\x1b[32mCOMPLIANT    \x1b[0m" in lines[3]
    assert lines[2].startswith("john   AIDAJOHN ")
    assert "\x1b[" not in lines[0]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_machine_formats_are_never_coloured(fmt):
    assert "\x1b[" not in output.render_audit(ROWS, fmt, colour=True)


def test_table_columns_line_up():
    lines = output.render_audit(ROWS, "table").splitlines()

    assert lines[0] == "USER   USER ID    COMPLIANCE     ANNOTATION"
    assert lines[1].split() == ["-----", "---------", "-------------", "-" * 55]
    assert lines[3] == "alice  AIDAALICE  COMPLIANT      No managed policies attached directly."
    assert lines[-1] == "2 users: 1 COMPLIANT, 1 NON_COMPLIANT, 0 NOT_APPLICABLE"
