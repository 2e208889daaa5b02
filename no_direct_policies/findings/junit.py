"""JUnit XML for CI gates: one test suite per account, one test case per user.

A ``NON_COMPLIANT`` user is a ``<failure>`` (message: the annotation, type
``NON_COMPLIANT``), a ``NOT_APPLICABLE`` user is ``<skipped>``, a
``COMPLIANT`` user passes. The document is valid against the Jenkins
xunit-plugin ``junit-10.xsd`` that the tests check it with.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # building only; nothing is parsed here
from collections.abc import Iterable

from no_direct_policies.findings.model import Finding, iso_z

# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _suite_name(rule_name: str, account_id: str) -> str:
    return f"{rule_name or 'rule'} account {account_id or '(unknown)'}"


def findings_to_junit(findings: Iterable[Finding], *, suites_name: str | None = None) -> str:
    """The JUnit XML document (UTF-8, with its XML declaration) for ``findings``."""
    by_account: dict[str, list[Finding]] = {}
    for finding in findings:
        by_account.setdefault(finding.account_id, []).append(finding)

    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    rule_names: set[str] = set()
    for account_id in sorted(by_account):
        members = by_account[account_id]
        rule_name = members[0].rule_name
        rule_names.update(member.rule_name for member in members)
        failures = sum(member.compliance_type == "NON_COMPLIANT" for member in members)
        skipped = sum(member.compliance_type == "NOT_APPLICABLE" for member in members)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _text(_suite_name(rule_name, account_id)),
                "tests": str(len(members)),
                "failures": str(failures),
                "errors": "0",
                "skipped": str(skipped),
                "time": "0",
                "timestamp": iso_z(min(member.evaluated_at for member in members)),
                "id": _text(account_id),
                "package": _text(rule_name),
            },
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", {"name": "AccountId", "value": _text(account_id)})
        regions = sorted({member.region for member in members})
        ET.SubElement(
            properties, "property", {"name": "Regions", "value": _text(",".join(regions))}
        )
        for member in members:
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": _text(member.rule_name),
                    "name": _text(member.user_name),
                    "time": "0",
                },
            )
            if member.compliance_type == "NON_COMPLIANT":
                failure = ET.SubElement(
                    case,
                    "failure",
                    {"message": _text(member.annotation), "type": "NON_COMPLIANT"},
                )
                failure.text = _text(_details(member))
            elif member.compliance_type == "NOT_APPLICABLE":
                ET.SubElement(
                    case,
                    "skipped",
                    {
                        "message": _text(member.annotation or "NOT_APPLICABLE"),
                        "type": "NOT_APPLICABLE",
                    },
                )
            out = ET.SubElement(case, "system-out")
            out.text = _text(f"{member.arn}\nEvaluated at {iso_z(member.evaluated_at)}")
        totals["tests"] += len(members)
        totals["failures"] += failures
        totals["skipped"] += skipped

    root.set("name", _text(suites_name or " ".join(sorted(rule_names)) or "findings"))
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "\n")
    )


def _details(finding: Finding) -> str:
    lines = [f"User: {finding.user_name} ({finding.arn})"]
    if finding.attached_policy_arns:
        lines.append("Attached managed policies: " + ", ".join(finding.attached_policy_arns))
    if finding.inline_policy_names:
        lines.append("Inline policies: " + ", ".join(finding.inline_policy_names))
    if finding.groups:
        lines.append("Groups: " + ", ".join(finding.groups))
    return "\n".join(lines)
