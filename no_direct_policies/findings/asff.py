"""AWS Security Finding Format (ASFF) findings, and their import into Security Hub.

Each dict is valid input to Security Hub ``BatchImportFindings`` (the tests
check it against botocore's service model: required members, types, lengths,
enums and patterns). Findings are imported as the account's own product,
``arn:<partition>:securityhub:<region>:<account>:product/<account>/default``.

Verdicts map to ``Compliance.Status`` PASSED / FAILED / NOT_AVAILABLE, with
severity LOW for a failure (Security Hub's severity for control IAM.2) and
INFORMATIONAL otherwise; a passed or not applicable finding is ``RESOLVED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from no_direct_policies.findings.model import Finding, finding_uid, iso_z, partition_of

SCHEMA_VERSION = "2018-10-08"
BATCH_SIZE = 100  # BatchImportFindings accepts at most 100 findings per call
TITLE_MAX = 256
DESCRIPTION_MAX = 1024
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256

FINDING_TYPES: tuple[str, ...] = (
    "Software and Configuration Checks/Industry and Regulatory Standards/"
    "CIS AWS Foundations Benchmark",
    "Software and Configuration Checks/AWS Security Best Practices",
)
RELATED_REQUIREMENTS: tuple[str, ...] = (
    "CIS AWS Foundations Benchmark v1.2.0/1.16",
    "CIS AWS Foundations Benchmark v1.4.0/1.15",
    "CIS AWS Foundations Benchmark v3.0.0/1.15",
)
SECURITY_CONTROL_ID = "IAM.2"
TITLE = "IAM users should receive permissions only through groups"
REMEDIATION_TEXT = (
    "Put the user in groups that carry the permissions it needs, then detach its "
    "managed policies and delete its inline policies."
)
REMEDIATION_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-2"

# verdict -> (Compliance.Status, Severity.Label, Workflow.Status)
_MAPPING: dict[str, tuple[str, str, str]] = {
    "COMPLIANT": ("PASSED", "INFORMATIONAL", "RESOLVED"),
    "NON_COMPLIANT": ("FAILED", "LOW", "NEW"),
    "NOT_APPLICABLE": ("NOT_AVAILABLE", "INFORMATIONAL", "RESOLVED"),
}


class SecurityHubImportError(RuntimeError):
    """Security Hub refused some of the findings of a ``BatchImportFindings`` call;
    ``imported`` says how many it took."""

    def __init__(self, message: str, imported: int = 0) -> None:
        super().__init__(message)
        self.imported = imported


def product_arn(partition: str, region: str, account_id: str) -> str:
    """The ARN of the account's own Security Hub product (its default integration)."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _non_empty(text: str) -> bool:
    return bool(text.strip())


def _user_details(finding: Finding) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if _non_empty(finding.user_name):
        details["UserName"] = finding.user_name
    if _non_empty(finding.user_id):
        details["UserId"] = finding.user_id
    if _non_empty(finding.path):
        details["Path"] = finding.path
    groups = [group for group in finding.groups if _non_empty(group)]
    if groups:
        details["GroupList"] = groups
    attached = [
        {"PolicyArn": arn, "PolicyName": arn.rsplit("/", 1)[-1]}
        for arn in finding.attached_policy_arns
        if _non_empty(arn)
    ]
    if attached:
        details["AttachedManagedPolicies"] = attached
    inline = [{"PolicyName": name} for name in finding.inline_policy_names if _non_empty(name)]
    if inline:
        details["UserPolicyList"] = inline
    return details


def to_asff(finding: Finding) -> dict[str, Any]:
    """One ASFF finding for ``finding``.

    The user is named by its name, else its ARN, else its ID (Config's view, from
    an aggregator, may know a user only by its ID). Raises ``ValueError`` when the
    finding lacks what ASFF requires to place it: an account ID, a region, and a
    user name, ARN or ID.
    """
    missing = [
        label
        for label, value in (
            ("account_id", finding.account_id),
            ("region", finding.region),
            ("user_name, arn or user_id", f"{finding.user_name} {finding.arn} {finding.user_id}"),
        )
        if not _non_empty(value)
    ]
    if missing:
        raise ValueError(f"an ASFF finding needs {', '.join(missing)}: {finding!r}")
    compliance_status, severity, workflow = _MAPPING[finding.compliance_type]
    partition = partition_of(finding.arn, finding.region)
    when = iso_z(finding.evaluated_at)
    subject = next(
        text for text in (finding.user_name, finding.arn, finding.user_id) if _non_empty(text)
    )
    description = _clip(
        finding.annotation
        if _non_empty(finding.annotation)
        else f"{subject}: {finding.compliance_type}",
        DESCRIPTION_MAX,
    )
    resource: dict[str, Any] = {
        "Type": "AwsIamUser",
        "Id": finding.arn or subject,
        "Partition": partition,
        "Region": finding.region,
    }
    tags = {
        _clip(key, TAG_KEY_MAX): _clip(value, TAG_VALUE_MAX)
        for key, value in sorted(finding.tags.items())
        if _non_empty(key) and _non_empty(value)
    }
    if tags:
        resource["Tags"] = tags
    details = _user_details(finding)
    if details:
        resource["Details"] = {"AwsIamUser": details}
    product_fields = {"RuleName": finding.rule_name, "ComplianceType": finding.compliance_type}
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_uid(finding),
        "ProductArn": product_arn(partition, finding.region, finding.account_id),
        "GeneratorId": finding.rule_name if _non_empty(finding.rule_name) else "unknown-rule",
        "AwsAccountId": finding.account_id,
        "Types": list(FINDING_TYPES),
        "CreatedAt": when,
        "UpdatedAt": when,
        "Severity": {"Label": severity},
        "Title": _clip(f"{TITLE} ({subject})", TITLE_MAX),
        "Description": description,
        "Remediation": {"Recommendation": {"Text": REMEDIATION_TEXT, "Url": REMEDIATION_URL}},
        "ProductFields": {key: value for key, value in product_fields.items() if value},
        "Resources": [resource],
        "Compliance": {
            "Status": compliance_status,
            "RelatedRequirements": list(RELATED_REQUIREMENTS),
            "SecurityControlId": SECURITY_CONTROL_ID,
        },
        "Workflow": {"Status": workflow},
        "RecordState": "ACTIVE",
    }


def findings_to_asff(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """ASFF findings for ``findings``, in order."""
    return [to_asff(finding) for finding in findings]


def batches(
    asff_findings: Sequence[dict[str, Any]], size: int = BATCH_SIZE
) -> list[list[dict[str, Any]]]:
    """``asff_findings`` cut into ``BatchImportFindings`` calls of at most ``size``."""
    if not 1 <= size <= BATCH_SIZE:
        raise ValueError(f"batch size must be between 1 and {BATCH_SIZE}, got {size}")
    return [list(asff_findings[i : i + size]) for i in range(0, len(asff_findings), size)]


def send_to_security_hub(client: Any, asff_findings: Sequence[dict[str, Any]]) -> int:
    """Import ``asff_findings`` with ``client`` (a boto3 ``securityhub`` client).

    Sends them in batches of 100 and returns how many were imported. Raises
    :class:`SecurityHubImportError` after all the batches were sent when
    Security Hub refused any, naming how many and the first error.
    """
    imported = 0
    failed: list[dict[str, Any]] = []
    for batch in batches(asff_findings):
        response = client.batch_import_findings(Findings=batch)
        imported += int(response.get("SuccessCount", 0))
        if int(response.get("FailedCount", 0)) > 0:
            failed.extend(response.get("FailedFindings") or [{}] * response["FailedCount"])
    if failed:
        first = failed[0]
        raise SecurityHubImportError(
            f"Security Hub refused {len(failed)} of {len(asff_findings)} findings; first: "
            f"{first.get('Id', '?')}: {first.get('ErrorCode', '?')}: "
            f"{first.get('ErrorMessage', '?')}",
            imported,
        )
    return imported
