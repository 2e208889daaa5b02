"""OCSF Compliance Finding (class 2003) events, as Prowler emits them.

Validated in the tests against the OCSF schema version ``OCSF_VERSION`` with
the ``cloud`` and ``datetime`` profiles (the schema the ``ocsf-json-schema``
package ships). Verdicts map as follows:

- COMPLIANT: compliance.status_id 1 Pass, status_id 4 Resolved, severity_id 1
  Informational;
- NON_COMPLIANT: compliance.status_id 3 Fail, status_id 1 New, severity_id 2 Low;
- NOT_APPLICABLE: compliance.status_id 99 Other and status_id 99 Other, both with
  the caption "Not Applicable", severity_id 1 Informational.

Severity Low is Security Hub's severity for control IAM.2.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from no_direct_policies.findings.model import Finding, epoch_ms, finding_uid, iso_z, partition_of

OCSF_VERSION = "1.5.0"
PROFILES: tuple[str, ...] = ("cloud", "datetime")

CLASS_UID = 2003  # Compliance Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE  # 200301: Compliance Finding: Create

PRODUCT_NAME = "IAM_USER_NO_DIRECT_POLICIES"
VENDOR_NAME = "IAM_USER_NO_DIRECT_POLICIES project"
PRODUCT_VERSION = "1.0.0"

CONTROL = "IAM.2"
STANDARDS: tuple[str, ...] = (
    "AWS Foundational Security Best Practices",
    "CIS AWS Foundations Benchmark",
)
REQUIREMENTS: tuple[str, ...] = (
    "AWS Foundational Security Best Practices IAM.2",
    "CIS AWS Foundations Benchmark v1.2.0/1.16",
    "CIS AWS Foundations Benchmark v1.4.0/1.15",
    "CIS AWS Foundations Benchmark v3.0.0/1.15",
)
TITLE = "IAM users should receive permissions only through groups"
DESCRIPTION = (
    "An IAM user must not have managed policies attached directly nor inline policies: "
    "permissions are granted through the groups the user belongs to."
)

# verdict -> (compliance status_id, compliance status, finding status_id, finding status,
#             severity_id, severity)
_MAPPING: dict[str, tuple[int, str, int, str, int, str]] = {
    "COMPLIANT": (1, "Pass", 4, "Resolved", 1, "Informational"),
    "NON_COMPLIANT": (3, "Fail", 1, "New", 2, "Low"),
    "NOT_APPLICABLE": (99, "Not Applicable", 99, "Not Applicable", 1, "Informational"),
}


def _resource(finding: Finding) -> dict[str, Any] | None:
    resource: dict[str, Any] = {"type": "AWS::IAM::User"}
    if finding.arn:
        resource["uid"] = finding.arn
    if finding.user_name:
        resource["name"] = finding.user_name
    if "uid" not in resource and "name" not in resource:
        return None  # OCSF requires a resource to have a name or a uid
    if finding.region:
        resource["region"] = finding.region
    resource["cloud_partition"] = partition_of(finding.arn, finding.region)
    if finding.user_id:
        resource["uid_alt"] = finding.user_id
    if finding.tags:
        resource["tags"] = [
            {"name": key, "value": value} for key, value in sorted(finding.tags.items())
        ]
        resource["labels"] = [f"{key}:{value}" for key, value in sorted(finding.tags.items())]
    resource["data"] = {
        "path": finding.path,
        "attached_managed_policy_arns": list(finding.attached_policy_arns),
        "inline_policy_names": list(finding.inline_policy_names),
        "groups": list(finding.groups),
    }
    return resource


def to_ocsf(finding: Finding) -> dict[str, Any]:
    """One OCSF Compliance Finding event for ``finding``."""
    c_id, c_status, s_id, s_status, sev_id, sev = _MAPPING[finding.compliance_type]
    when = epoch_ms(finding.evaluated_at)
    cloud: dict[str, Any] = {"provider": "AWS"}
    if finding.account_id:
        cloud["account"] = {"uid": finding.account_id, "type_id": 10, "type": "AWS Account"}
    if finding.region:
        cloud["region"] = finding.region
    event: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": TYPE_UID,
        "type_name": "Compliance Finding: Create",
        "severity_id": sev_id,
        "severity": sev,
        "status_id": s_id,
        "status": s_status,
        "status_code": finding.compliance_type,
        "message": finding.annotation or f"{finding.user_name}: {finding.compliance_type}",
        "time": when,
        "time_dt": iso_z(finding.evaluated_at),
        "compliance": {
            "control": CONTROL,
            "standards": list(STANDARDS),
            "requirements": list(REQUIREMENTS),
            "status_id": c_id,
            "status": c_status,
            "status_code": finding.compliance_type,
            "desc": finding.annotation,
        },
        "finding_info": {
            "uid": finding_uid(finding),
            "title": TITLE,
            "desc": DESCRIPTION,
            "created_time": when,
            "created_time_dt": iso_z(finding.evaluated_at),
            "types": ["Software and Configuration Checks", finding.rule_name],
            "product_uid": finding.rule_name,
        },
        "cloud": cloud,
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": list(PROFILES),
            "product": {
                "name": PRODUCT_NAME,
                "vendor_name": VENDOR_NAME,
                "version": PRODUCT_VERSION,
            },
            "event_code": finding.rule_name,
        },
        "unmapped": {
            "rule_name": finding.rule_name,
            "compliance_type": finding.compliance_type,
        },
    }
    resource = _resource(finding)
    if resource is not None:
        event["resources"] = [resource]
    return event


def findings_to_ocsf(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """OCSF events for ``findings``, in order (a JSON array of them is Prowler's ``json-ocsf``)."""
    return [to_ocsf(finding) for finding in findings]
