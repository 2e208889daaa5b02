"""The Guard variant (deploy/iam_user_no_direct_policies.guard) on the Config event fixtures.

Evaluated with the Guard engine from PyPI (cfn-guard-rs 0.3.3, Guard 3.0.1,
not Config's own runtime). Two flaws of its Python binding are worked around
by reading the engine's verbose JSON report directly: the report parser fails
on a failed ``or`` (a list where it expects a mapping), and the non-verbose
report comes back cut to its last 8 KiB when longer (a user with 10 policies).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfn_guard_rs.cfn_guard_rs import run_checks_rs

from deploy import build
from no_direct_policies.compliance import RuleOptions, UserPolicies, decide

EVENTS = Path(__file__).resolve().parent.parent / "events"
GUARD_VERDICT = {"PASS": "COMPLIANT", "FAIL": "NON_COMPLIANT", "SKIP": "NOT_APPLICABLE"}


def configuration_item(event_file: str) -> dict[str, Any]:
    """The configuration item of a change notification fixture."""
    event = json.loads((EVENTS / event_file).read_text())
    return json.loads(event["invokingEvent"])["configurationItem"]


def guard_report(item: dict[str, Any]) -> dict[str, Any]:
    """The engine's verbose report of the Guard rule on one configuration item."""
    report = json.loads(run_checks_rs(json.dumps(item), build.GUARD_FILE.read_text(), True))
    return report["container"]["FileCheck"]


def guard_status(item: dict[str, Any]) -> str:
    """PASS, FAIL or SKIP: the Guard rule's verdict on one configuration item."""
    return guard_report(item)["status"]


@pytest.mark.parametrize(
    ("event_file", "status"),
    [
        ("change_user_no_policies.json", "PASS"),  # attachedManagedPolicies: []
        ("change_user_null_lists.json", "PASS"),  # attachedManagedPolicies: null
        ("change_user_missing_lists.json", "PASS"),  # no attachedManagedPolicies key
        ("change_user_one_managed_policy.json", "FAIL"),
        ("change_user_managed_policies.json", "FAIL"),
        ("change_role_out_of_scope.json", "SKIP"),  # an AWS::IAM::Role with a policy
    ],
)
def test_guard_rule_verdict_on_configuration_items(event_file, status):
    assert guard_status(configuration_item(event_file)) == status


def test_guard_rule_names_the_fix_when_it_fails():
    item = configuration_item("change_user_one_managed_policy.json")
    # The verbose report leaves custom messages out; this short report is not cut.
    report = json.loads(run_checks_rs(json.dumps(item), build.GUARD_FILE.read_text(), False))
    message = "Managed policies are attached directly to this user: attach them to a group"
    assert message in json.dumps(report["not_compliant"])


# Every user fixture but the deleted user (Config does not evaluate deleted items).
USER_EVENTS = sorted(
    p.name for p in EVENTS.glob("change_user_*.json") if p.name != "change_user_deleted.json"
)


@pytest.mark.parametrize("event_file", USER_EVENTS)
def test_guard_rule_gives_the_lambda_rules_verdict_without_exemptions(event_file):
    item = configuration_item(event_file)
    lambda_verdict = decide(UserPolicies.from_configuration_item(item), RuleOptions())
    assert GUARD_VERDICT[guard_status(item)] == lambda_verdict.compliance_type
