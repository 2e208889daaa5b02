"""OCSF Compliance Finding events, validated against the published OCSF schema.

The schema is OCSF 1.5.0 as shipped by the ``ocsf-json-schema`` package
(offline), turned into a JSON Schema (draft 2020-12) for the
``compliance_finding`` class with the ``cloud`` and ``datetime`` profiles:
required attributes, types, enums, ``additionalProperties: false`` on every
object, and the "name or uid" constraints. Each id's sibling caption
(``severity`` for ``severity_id``...) is checked against the schema's enum
captions too.
"""

from __future__ import annotations

import copy
import time

import pytest
from findings_support import blank_finding, empty_fields_finding, many_findings
from format_validators import CLASS_NAME, RAW, VALIDATOR, assert_valid
from format_validators import OCSF_SCHEMA as SCHEMA

from no_direct_policies.findings.model import Finding
from no_direct_policies.findings.ocsf import (
    OCSF_VERSION,
    findings_to_ocsf,
    to_ocsf,
)


def test_the_schema_is_the_published_compliance_finding_class() -> None:
    assert CLASS_NAME == "compliance_finding"
    assert RAW["version"] == OCSF_VERSION
    assert SCHEMA["properties"]["class_uid"]["const"] == 2003
    assert set(SCHEMA["required"]) >= {"compliance", "finding_info", "metadata", "cloud"}


def test_every_event_is_valid(findings: list[Finding]) -> None:
    for event in findings_to_ocsf(findings):
        assert_valid(event)


@pytest.mark.parametrize(
    ("verdict", "compliance_status_id", "status_id", "severity_id"),
    [("COMPLIANT", 1, 4, 1), ("NON_COMPLIANT", 3, 1, 2), ("NOT_APPLICABLE", 99, 99, 1)],
)
def test_verdict_mapping(
    findings: list[Finding],
    verdict: str,
    compliance_status_id: int,
    status_id: int,
    severity_id: int,
) -> None:
    finding = next(f for f in findings if f.compliance_type == verdict)
    event = to_ocsf(finding)
    assert_valid(event)
    assert event["compliance"]["status_id"] == compliance_status_id
    assert event["status_id"] == status_id
    assert event["severity_id"] == severity_id
    assert event["status_code"] == verdict


def test_the_event_carries_the_finding(findings: list[Finding]) -> None:
    finding = findings[0]
    event = to_ocsf(finding)
    assert event["class_uid"] == 2003
    assert event["category_uid"] == 2
    assert event["type_uid"] == 200301
    assert event["time"] == int(finding.evaluated_at.timestamp() * 1000)
    assert event["metadata"]["version"] == OCSF_VERSION
    assert event["cloud"] == {
        "provider": "AWS",
        "account": {"uid": "123456789012", "type_id": 10, "type": "AWS Account"},
        "region": "us-east-1",
    }
    (resource,) = event["resources"]
    assert resource["uid"] == finding.arn
    assert resource["type"] == "AWS::IAM::User"
    assert resource["name"] == "alice"
    assert resource["data"]["attached_managed_policy_arns"] == list(finding.attached_policy_arns)
    assert resource["data"]["inline_policy_names"] == ["s3-write"]
    assert resource["data"]["groups"] == ["developers"]
    assert {"name": "team", "value": "payments"} in resource["tags"]
    assert event["compliance"]["control"] == "IAM.2"
    assert event["finding_info"]["uid"].endswith(finding.arn)


def test_the_validator_rejects_what_the_schema_forbids(findings: list[Finding]) -> None:
    event = to_ocsf(findings[0])
    for mutate in (
        lambda e: e.pop("finding_info"),
        lambda e: e["compliance"].__setitem__("status_id", 7),
        lambda e: e.__setitem__("severity_id", 42),
        lambda e: e["cloud"].__setitem__("unknown_attribute", 1),
        lambda e: e["resources"][0].pop("uid") and e["resources"][0].pop("name"),
    ):
        broken = copy.deepcopy(event)
        mutate(broken)
        assert list(VALIDATOR.iter_errors(broken))


def test_empty_fields_and_blank_findings_are_valid() -> None:
    assert_valid(to_ocsf(empty_fields_finding()))
    blank = to_ocsf(blank_finding())
    assert_valid(blank)
    assert "resources" not in blank
    assert "account" not in blank["cloud"]


def test_zero_findings() -> None:
    assert findings_to_ocsf([]) == []


def test_five_thousand_findings_are_valid() -> None:
    findings = many_findings()
    started = time.perf_counter()
    events = findings_to_ocsf(findings)
    assert time.perf_counter() - started < 5
    assert len(events) == 5000
    assert len({e["finding_info"]["uid"] for e in events}) == 5000
    for event in events[::97]:
        assert_valid(event)
