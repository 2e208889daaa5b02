"""The Guard rules registry's checks that apply (deploy/guard/), run on the templates.

Log group encryption and retention, Lambda reserved concurrency and
dead-letter queues: each is met, or suppressed under
``Metadata.guard.SuppressedRules`` by the build from a checkov skip, so the
same reason (the checkov comment) stands behind both scanners.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cfn_guard_rs.cfn_guard_rs import run_checks_rs

from deploy import build

RULES = (
    "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
    "CLOUDWATCH_LOG_GROUP_RETENTION_PERIOD_CHECK",
    "LAMBDA_CONCURRENCY_CHECK",
    "LAMBDA_DLQ_CHECK",
)


def guard_findings(template: dict[str, Any]) -> list[tuple[str, str]]:
    """``(rule, resource)`` for every resource a Guard rule finds against."""
    report = json.loads(
        run_checks_rs(json.dumps(template), build.CFN_GUARD_FILE.read_text(), False)
    )
    findings = set()
    for failed in report["not_compliant"]:
        rule = failed["Rule"]["name"]
        for resource in re.findall(r"/Resources/([^/\"\[]+)", json.dumps(failed["Rule"]["checks"])):
            findings.add((rule, resource))
    return sorted(findings)


@pytest.mark.parametrize("name", ["account.yaml", "stackset.yaml", "conformance-pack.yaml"])
def test_no_unsuppressed_guard_finding_in_any_rendered_template(templates, name):
    assert guard_findings(templates[name]) == []


def test_the_rules_find_what_they_check():
    bare = {
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Function": {"Type": "AWS::Lambda::Function", "Properties": {}},
        }
    }
    assert guard_findings(bare) == [
        ("CLOUDWATCH_LOG_GROUP_ENCRYPTED", "Logs"),
        ("CLOUDWATCH_LOG_GROUP_RETENTION_PERIOD_CHECK", "Logs"),
        ("LAMBDA_CONCURRENCY_CHECK", "Function"),
        ("LAMBDA_DLQ_CHECK", "Function"),
    ]


def test_a_suppression_silences_only_the_rule_it_names():
    template = {
        "Resources": {
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"guard": {"SuppressedRules": ["LAMBDA_DLQ_CHECK"]}},
                "Properties": {},
            }
        }
    }
    assert guard_findings(template) == [("LAMBDA_CONCURRENCY_CHECK", "Function")]


def test_the_rule_function_meets_the_dead_letter_check_without_suppression(stackset):
    metadata = stackset["Resources"]["RuleFunction"]["Metadata"]
    assert "LAMBDA_DLQ_CHECK" not in metadata["guard"]["SuppressedRules"]


def test_every_guard_suppression_has_the_reason_checkov_reads(templates):
    checkov_of_guard = {rule: check for check, rule in build.GUARD_RULE_OF_CHECKOV_CHECK.items()}
    assert set(checkov_of_guard) <= set(RULES)
    suppressed = 0
    for template in templates.values():
        for name, resource in template["Resources"].items():
            metadata = resource.get("Metadata", {})
            skips = {s["id"]: s["comment"] for s in metadata.get("checkov", {}).get("skip", [])}
            for rule in metadata.get("guard", {}).get("SuppressedRules", []):
                assert len(skips[checkov_of_guard[rule]]) > 40, (name, rule)
                suppressed += 1
    assert suppressed > 0
