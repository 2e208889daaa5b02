"""JUnit XML, validated with ``xmlschema`` against the Jenkins ``junit-10.xsd``.

The XSD (see ``schemas/README.md``) fixes the elements, their nesting and the
required attributes, but types the counts as plain strings; the counts are
therefore also checked against the test cases they count.
"""

from __future__ import annotations

import hashlib
import time

import pytest
from findings_support import blank_finding, empty_fields_finding, make_finding, many_findings
from format_validators import XSD_PATH, XSD_SHA256, parse_valid

from no_direct_policies.findings.junit import findings_to_junit
from no_direct_policies.findings.model import RULE_NAME, Finding


def test_the_xsd_is_the_published_one() -> None:
    assert hashlib.sha256(XSD_PATH.read_bytes()).hexdigest() == XSD_SHA256


def test_one_suite_per_account_one_case_per_user(findings: list[Finding]) -> None:
    root = parse_valid(findings_to_junit(findings))
    suites = root.findall("testsuite")
    assert [s.get("id") for s in suites] == ["123456789012", "210987654321"]
    assert all(s.get("id", "") in s.get("name", "") for s in suites)
    first = suites[0].findall("testcase")
    assert [c.get("name") for c in first] == [f.user_name for f in findings[:3]]
    assert {c.get("classname") for c in first} == {RULE_NAME}


def test_verdicts_become_failures_skips_and_passes(findings: list[Finding]) -> None:
    root = parse_valid(findings_to_junit(findings))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["alice"].find("failure")
    assert failure is not None
    assert failure.get("type") == "NON_COMPLIANT"
    assert failure.get("message") == findings[0].annotation
    skipped = cases["carol"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "carol is a service user outside the rule's scope"
    assert cases["bob"].find("failure") is None
    assert cases["bob"].find("skipped") is None


def test_markup_and_unicode_in_user_data_survive(findings: list[Finding]) -> None:
    root = parse_valid(findings_to_junit(findings))
    names = [c.get("name") for c in root.iter("testcase")]
    assert findings[2].user_name in names
    messages = [f.get("message") for f in root.iter("failure")]
    assert findings[2].annotation in messages


def test_characters_xml_cannot_carry_are_replaced() -> None:
    document = findings_to_junit([make_finding("bell\x07", annotation="nul\x00")])
    root = parse_valid(document)
    assert root.find("testsuite/testcase").get("name") == "bell\ufffd"


def test_zero_findings() -> None:
    root = parse_valid(findings_to_junit([]))
    assert root.findall("testsuite") == []
    assert root.get("tests") == "0"


def test_empty_fields_and_blank_findings() -> None:
    parse_valid(findings_to_junit([empty_fields_finding(), blank_finding()]))


def test_five_thousand_findings_quickly() -> None:
    started = time.perf_counter()
    document = findings_to_junit(many_findings())
    assert time.perf_counter() - started < 5
    root = parse_valid(document)
    assert root.get("tests") == "5000"
    assert len(root.findall("testsuite")) == 7


@pytest.mark.parametrize("name", ["suite of record"])
def test_suites_name_can_be_given(name: str, findings: list[Finding]) -> None:
    assert parse_valid(findings_to_junit(findings, suites_name=name)).get("name") == name
