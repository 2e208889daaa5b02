"""One evaluated IAM user: the record every output format is made from.

``Finding.to_json_dict()`` is the ``--format json`` form. Its key names are
part of the interface: consumers parse them, so they are only ever added to.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

RULE_NAME = "IAM_USER_NO_DIRECT_POLICIES"

ComplianceType = Literal["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"]
COMPLIANCE_TYPES: tuple[str, ...] = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")

# The ``--format json`` keys, in output order.
JSON_KEYS: tuple[str, ...] = (
    "AccountId",
    "Region",
    "UserName",
    "UserId",
    "Arn",
    "Path",
    "Tags",
    "AttachedManagedPolicyArns",
    "InlinePolicyNames",
    "Groups",
    "ComplianceType",
    "Annotation",
    "RuleName",
    "EvaluationTime",
)


def iso_z(moment: datetime) -> str:
    """``moment`` in UTC as ISO 8601 with a ``Z`` suffix and millisecond precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def epoch_ms(moment: datetime) -> int:
    """``moment`` as milliseconds since the Unix epoch."""
    return int(moment.timestamp() * 1000)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"evaluated_at must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Finding:
    """The verdict of the rule on one IAM user in one account and region."""

    account_id: str
    region: str
    user_name: str
    user_id: str
    arn: str
    path: str
    tags: Mapping[str, str]
    attached_policy_arns: tuple[str, ...]
    inline_policy_names: tuple[str, ...]
    groups: tuple[str, ...]
    compliance_type: ComplianceType
    annotation: str
    rule_name: str
    evaluated_at: datetime

    def __post_init__(self) -> None:
        if self.compliance_type not in COMPLIANCE_TYPES:
            raise ValueError(
                f"compliance_type must be one of {', '.join(COMPLIANCE_TYPES)}, "
                f"got {self.compliance_type!r}"
            )
        # Normalise without breaking immutability for callers.
        object.__setattr__(self, "evaluated_at", _utc(self.evaluated_at))
        object.__setattr__(self, "tags", dict(self.tags))
        for name in ("attached_policy_arns", "inline_policy_names", "groups"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def __hash__(self) -> int:
        return hash((self.account_id, self.region, self.arn, self.user_name, self.evaluated_at))

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--format json`` record: stable key names, JSON-native values."""
        return {
            "AccountId": self.account_id,
            "Region": self.region,
            "UserName": self.user_name,
            "UserId": self.user_id,
            "Arn": self.arn,
            "Path": self.path,
            "Tags": dict(self.tags),
            "AttachedManagedPolicyArns": list(self.attached_policy_arns),
            "InlinePolicyNames": list(self.inline_policy_names),
            "Groups": list(self.groups),
            "ComplianceType": self.compliance_type,
            "Annotation": self.annotation,
            "RuleName": self.rule_name,
            "EvaluationTime": iso_z(self.evaluated_at),
        }

    @classmethod
    def from_account_details(
        cls,
        user_detail: Mapping[str, Any],
        verdict_type: str,
        annotation: str,
        *,
        account_id: str,
        region: str,
        rule_name: str = RULE_NAME,
        evaluated_at: datetime | None = None,
    ) -> Finding:
        """A finding from one ``UserDetailList`` item of ``GetAccountAuthorizationDetails``.

        ``evaluated_at`` defaults to now (UTC). Missing keys give empty values.
        """
        tags = {
            str(tag.get("Key", "")): str(tag.get("Value", ""))
            for tag in user_detail.get("Tags") or ()
        }
        return cls(
            account_id=account_id,
            region=region,
            user_name=user_detail.get("UserName", ""),
            user_id=user_detail.get("UserId", ""),
            arn=user_detail.get("Arn", ""),
            path=user_detail.get("Path", ""),
            tags=tags,
            attached_policy_arns=tuple(
                policy["PolicyArn"]
                for policy in user_detail.get("AttachedManagedPolicies") or ()
                if policy.get("PolicyArn")
            ),
            inline_policy_names=tuple(
                policy["PolicyName"]
                for policy in user_detail.get("UserPolicyList") or ()
                if policy.get("PolicyName")
            ),
            groups=tuple(user_detail.get("GroupList") or ()),
            compliance_type=verdict_type,  # type: ignore[arg-type]  # checked in __post_init__
            annotation=annotation,
            rule_name=rule_name,
            evaluated_at=evaluated_at or datetime.now(UTC),
        )


def findings_to_json(findings: Iterable[Finding], *, indent: int | None = 2) -> str:
    """The ``--format json`` document: a JSON array of ``to_json_dict()`` records."""
    return json.dumps(
        [finding.to_json_dict() for finding in findings], indent=indent, ensure_ascii=False
    )


def counts_by_account(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """``{account_id: {compliance_type: count}}`` with every verdict present (0 when none)."""
    counter: Counter[tuple[str, str]] = Counter(
        (finding.account_id, finding.compliance_type) for finding in findings
    )
    accounts = sorted({account for account, _ in counter})
    return {
        account: {verdict: counter[(account, verdict)] for verdict in COMPLIANCE_TYPES}
        for account in accounts
    }


def partition_of(arn: str, region: str) -> str:
    """The AWS partition: from the ARN when it has one, else from the region's prefix."""
    parts = arn.split(":")
    if len(parts) > 2 and parts[0] == "arn" and parts[1]:
        return parts[1]
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def finding_uid(finding: Finding) -> str:
    """A stable identifier of the finding: one per rule, account, region and user."""
    subject = finding.arn or finding.user_id or finding.user_name
    return f"{finding.rule_name}/{finding.account_id}/{finding.region}/{subject}"
