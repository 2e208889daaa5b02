"""The Finding record and its ``--format json`` form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from findings_support import WHEN, make_finding

from no_direct_policies.findings.model import (
    JSON_KEYS,
    RULE_NAME,
    Finding,
    counts_by_account,
    findings_to_json,
    partition_of,
)

USER_DETAIL = {
    "Path": "/engineering/",
    "UserName": "alice",
    "UserId": "AIDAEXAMPLE1234567890",
    "Arn": "arn:aws:iam::123456789012:user/engineering/alice",
    "CreateDate": datetime(2020, 1, 1, tzinfo=UTC),
    "UserPolicyList": [{"PolicyName": "s3-write", "PolicyDocument": {"Version": "2012-10-17"}}],
    "GroupList": ["developers", "oncall"],
    "AttachedManagedPolicies": [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    ],
    "Tags": [{"Key": "team", "Value": "payments"}],
}


def test_from_account_details_reads_every_field() -> None:
    finding = Finding.from_account_details(
        USER_DETAIL,
        "NON_COMPLIANT",
        "alice has policies attached directly",
        account_id="123456789012",
        region="eu-west-1",
        rule_name=RULE_NAME,
        evaluated_at=WHEN,
    )
    assert finding.to_json_dict() == {
        "AccountId": "123456789012",
        "Region": "eu-west-1",
        "UserName": "alice",
        "UserId": "AIDAEXAMPLE1234567890",
        "Arn": "arn:aws:iam::123456789012:user/engineering/alice",
        "Path": "/engineering/",
        "Tags": {"team": "payments"},
        "AttachedManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "InlinePolicyNames": ["s3-write"],
        "Groups": ["developers", "oncall"],
        "ComplianceType": "NON_COMPLIANT",
        "Annotation": "alice has policies attached directly",
        "RuleName": RULE_NAME,
        "EvaluationTime": "2026-03-01T12:30:45.123Z",
    }
    assert list(finding.to_json_dict()) == list(JSON_KEYS)


def test_from_account_details_with_a_bare_user_gives_empty_values() -> None:
    finding = Finding.from_account_details(
        {"UserName": "x"}, "COMPLIANT", "", account_id="1", region="r", evaluated_at=WHEN
    )
    assert finding.tags == {}
    assert finding.attached_policy_arns == finding.inline_policy_names == finding.groups == ()
    assert finding.rule_name == RULE_NAME


def test_evaluation_time_is_converted_to_utc_and_must_be_aware() -> None:
    plus_two = timezone(timedelta(hours=2))
    finding = make_finding(evaluated_at=datetime(2026, 3, 1, 14, 0, tzinfo=plus_two))
    assert finding.to_json_dict()["EvaluationTime"] == "2026-03-01T12:00:00.000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        make_finding(evaluated_at=datetime(2026, 3, 1, 12, 0))


def test_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="compliance_type"):
        make_finding(compliance_type="INSUFFICIENT_DATA")


def test_finding_is_frozen_and_hashable() -> None:
    finding = make_finding()
    with pytest.raises(AttributeError):
        finding.user_name = "mallory"  # type: ignore[misc]
    assert len({finding, make_finding()}) == 1


def test_json_document_round_trips(findings: list[Finding]) -> None:
    parsed = json.loads(findings_to_json(findings))
    assert parsed == [f.to_json_dict() for f in findings]
    assert parsed[2]["UserName"].startswith("eve<script>")


def test_counts_by_account_lists_every_verdict(findings: list[Finding]) -> None:
    assert counts_by_account(findings) == {
        "123456789012": {"COMPLIANT": 1, "NON_COMPLIANT": 2, "NOT_APPLICABLE": 0},
        "210987654321": {"COMPLIANT": 0, "NON_COMPLIANT": 1, "NOT_APPLICABLE": 1},
    }


@pytest.mark.parametrize(
    ("arn", "region", "partition"),
    [
        ("arn:aws:iam::1:user/a", "us-east-1", "aws"),
        ("arn:aws-cn:iam::1:user/a", "cn-north-1", "aws-cn"),
        ("", "us-gov-west-1", "aws-us-gov"),
        ("", "cn-northwest-1", "aws-cn"),
        ("", "", "aws"),
    ],
)
def test_partition(arn: str, region: str, partition: str) -> None:
    assert partition_of(arn, region) == partition
