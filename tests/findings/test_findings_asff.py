"""ASFF findings, validated with botocore's own Security Hub service model.

``ParamValidator`` checks ``BatchImportFindings`` input as boto3 does before
sending: required members, unknown members, types and minimum lengths. It
does not check enums, maximum lengths or patterns, so ``strict_errors`` walks
the same shapes for those. Security Hub's documented limits that the model
does not carry (Title 256 characters, Description 1024) are checked too.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator
from findings_support import blank_finding, empty_fields_finding, make_finding, many_findings
from format_validators import CLIENT, INPUT_SHAPE, assert_importable, strict_errors
from moto import mock_aws

from no_direct_policies.findings.asff import (
    BATCH_SIZE,
    SecurityHubImportError,
    batches,
    findings_to_asff,
    send_to_security_hub,
    to_asff,
)
from no_direct_policies.findings.model import Finding


def test_every_finding_is_valid_batch_import_input(findings: list[Finding]) -> None:
    assert_importable(findings_to_asff(findings))


def test_the_checks_catch_what_security_hub_refuses(findings: list[Finding]) -> None:
    asff = to_asff(findings[0])
    bad_enum = {**asff, "Compliance": {"Status": "MAYBE"}}
    assert strict_errors({"Findings": [bad_enum]}, INPUT_SHAPE)
    missing = {k: v for k, v in asff.items() if k != "Resources"}
    assert ParamValidator().validate({"Findings": [missing]}, INPUT_SHAPE).has_errors()
    blank_title = {**asff, "Title": " "}
    assert strict_errors({"Findings": [blank_title]}, INPUT_SHAPE)
    too_many = {"Findings": [asff] * (BATCH_SIZE + 1)}
    assert strict_errors(too_many, INPUT_SHAPE)


def test_the_finding_carries_the_user(findings: list[Finding]) -> None:
    finding = findings[0]
    asff = to_asff(finding)
    assert asff["SchemaVersion"] == "2018-10-08"
    assert asff["ProductArn"] == (
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    )
    assert asff["AwsAccountId"] == "123456789012"
    assert asff["Types"][0] == (
        "Software and Configuration Checks/Industry and Regulatory Standards/"
        "CIS AWS Foundations Benchmark"
    )
    assert asff["CreatedAt"] == asff["UpdatedAt"] == "2026-03-01T12:30:45.123Z"
    assert asff["Severity"] == {"Label": "LOW"}
    assert asff["Compliance"]["Status"] == "FAILED"
    assert asff["Compliance"]["SecurityControlId"] == "IAM.2"
    assert asff["Workflow"] == {"Status": "NEW"}
    assert asff["RecordState"] == "ACTIVE"
    (resource,) = asff["Resources"]
    assert resource["Type"] == "AwsIamUser"
    assert resource["Id"] == finding.arn
    assert resource["Partition"] == "aws"
    assert resource["Details"]["AwsIamUser"] == {
        "UserName": "alice",
        "UserId": finding.user_id,
        "Path": "/",
        "GroupList": ["developers"],
        "AttachedManagedPolicies": [
            {"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "PolicyName": "ReadOnlyAccess"}
        ],
        "UserPolicyList": [{"PolicyName": "s3-write"}],
    }


@pytest.mark.parametrize(
    ("verdict", "status", "severity"),
    [
        ("COMPLIANT", "PASSED", "INFORMATIONAL"),
        ("NON_COMPLIANT", "FAILED", "LOW"),
        ("NOT_APPLICABLE", "NOT_AVAILABLE", "INFORMATIONAL"),
    ],
)
def test_verdict_mapping(verdict: str, status: str, severity: str) -> None:
    asff = to_asff(make_finding(compliance_type=verdict))
    assert asff["Compliance"]["Status"] == status
    assert asff["Severity"]["Label"] == severity


def test_partition_and_region_come_from_the_finding() -> None:
    asff = to_asff(
        make_finding(
            region="cn-north-1", arn="arn:aws-cn:iam::123456789012:user/alice", tags={"k": ""}
        )
    )
    assert asff["ProductArn"].startswith("arn:aws-cn:securityhub:cn-north-1:")
    assert asff["Resources"][0]["Partition"] == "aws-cn"
    assert "Tags" not in asff["Resources"][0]  # Security Hub refuses empty tag values
    assert_importable([asff])


def test_long_annotation_and_names_are_clipped() -> None:
    asff = to_asff(make_finding("n" * 64, annotation="x" * 5000))
    assert_importable([asff])


def test_empty_fields_finding_is_valid_and_a_blank_one_is_refused_clearly() -> None:
    assert_importable([to_asff(empty_fields_finding())])
    with pytest.raises(ValueError, match="account_id, region, user_name, arn or user_id"):
        to_asff(blank_finding())


def test_zero_findings() -> None:
    assert findings_to_asff([]) == []
    assert batches([]) == []


def test_five_thousand_findings_in_batches_of_a_hundred() -> None:
    findings = many_findings()
    started = time.perf_counter()
    asff = findings_to_asff(findings)
    assert time.perf_counter() - started < 5
    parts = batches(asff)
    assert [len(p) for p in parts] == [100] * 50
    assert_importable(parts[0])
    assert_importable(parts[-1])


class Recording:
    """A Security Hub client that remembers the size of each import."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.sizes: list[int] = []

    def batch_import_findings(self, **kwargs: Any) -> dict[str, Any]:
        self.sizes.append(len(kwargs["Findings"]))
        return self.client.batch_import_findings(**kwargs)


@pytest.fixture
def moto_securityhub(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("securityhub", region_name="us-east-1")


def test_send_imports_in_batches_of_a_hundred(moto_securityhub: Any) -> None:
    asff = findings_to_asff(many_findings(250))
    recording = Recording(moto_securityhub)
    assert send_to_security_hub(recording, asff) == 250
    assert recording.sizes == [100, 100, 50]
    stored = moto_securityhub.get_paginator("get_findings").paginate().build_full_result()
    assert {f["Id"] for f in stored["Findings"]} == {f["Id"] for f in asff}


def test_send_nothing_makes_no_call(moto_securityhub: Any) -> None:
    recording = Recording(moto_securityhub)
    assert send_to_security_hub(recording, []) == 0
    assert recording.sizes == []


def test_send_raises_naming_how_many_failed_and_the_first_error() -> None:
    asff = findings_to_asff(many_findings(150))
    with Stubber(CLIENT) as stub:
        stub.add_response(
            "batch_import_findings",
            {"FailedCount": 0, "SuccessCount": 100, "FailedFindings": []},
            {"Findings": asff[:100]},
        )
        stub.add_response(
            "batch_import_findings",
            {
                "FailedCount": 2,
                "SuccessCount": 48,
                "FailedFindings": [
                    {"Id": asff[100]["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "bad"},
                    {"Id": asff[101]["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "bad"},
                ],
            },
            {"Findings": asff[100:]},
        )
        with pytest.raises(SecurityHubImportError) as raised:
            send_to_security_hub(CLIENT, asff)
        stub.assert_no_pending_responses()
    message = str(raised.value)
    assert "refused 2 of 150" in message
    assert asff[100]["Id"] in message
    assert "InvalidInput: bad" in message
