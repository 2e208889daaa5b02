"""Findings for the formatter tests: a sample with every verdict, edge cases, a large set."""

from __future__ import annotations

from datetime import UTC, datetime

from no_direct_policies.findings.model import RULE_NAME, Finding

WHEN = datetime(2026, 3, 1, 12, 30, 45, 123000, tzinfo=UTC)


def make_finding(
    user_name: str = "alice",
    compliance_type: str = "NON_COMPLIANT",
    account_id: str = "123456789012",
    region: str = "us-east-1",
    **overrides: object,
) -> Finding:
    values: dict[str, object] = {
        "account_id": account_id,
        "region": region,
        "user_name": user_name,
        "user_id": "AIDA" + user_name.upper().encode().hex()[:16].upper(),
        "arn": f"arn:aws:iam::{account_id}:user/{user_name}",
        "path": "/",
        "tags": {"team": "payments", "owner": "ops"},
        "attached_policy_arns": ("arn:aws:iam::aws:policy/ReadOnlyAccess",),
        "inline_policy_names": ("s3-write",),
        "groups": ("developers",),
        "compliance_type": compliance_type,
        "annotation": f"{user_name} has 1 managed and 1 inline policy attached directly",
        "rule_name": RULE_NAME,
        "evaluated_at": WHEN,
    }
    values.update(overrides)
    return Finding(**values)  # type: ignore[arg-type]


def sample_findings() -> list[Finding]:
    """Two accounts, every verdict, and a user name made to break naive HTML or XML."""
    return [
        make_finding("alice"),
        make_finding(
            "bob",
            "COMPLIANT",
            attached_policy_arns=(),
            inline_policy_names=(),
            annotation="bob receives permissions only through groups",
        ),
        make_finding(
            'eve<script>alert("x")</script>&\'',
            annotation='policies <b>"quoted"</b> & \u00e9t\u00e9 \U0001f512',
            tags={"note": "</script><img src=x onerror=alert(1)>", "\u540d": "\u5024"},
            path="/ops/",
        ),
        make_finding(
            "carol",
            "NOT_APPLICABLE",
            account_id="210987654321",
            region="eu-west-1",
            annotation="carol is a service user outside the rule's scope",
        ),
        make_finding("dave", account_id="210987654321", region="eu-west-1"),
    ]


def empty_fields_finding() -> Finding:
    """Every optional field empty; what places the finding is kept."""
    return make_finding(
        "",
        "NOT_APPLICABLE",
        user_id="",
        path="",
        tags={},
        attached_policy_arns=(),
        inline_policy_names=(),
        groups=(),
        annotation="",
        arn="arn:aws:iam::123456789012:user/x",
    )


def blank_finding() -> Finding:
    """Literally every string field empty."""
    return Finding(
        account_id="",
        region="",
        user_name="",
        user_id="",
        arn="",
        path="",
        tags={},
        attached_policy_arns=(),
        inline_policy_names=(),
        groups=(),
        compliance_type="NOT_APPLICABLE",
        annotation="",
        rule_name="",
        evaluated_at=WHEN,
    )


def many_findings(n: int = 5000) -> list[Finding]:
    verdicts = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")
    return [
        make_finding(
            f"user-{i:05d}",
            verdicts[i % 3],
            account_id=f"{100000000000 + i % 7:012d}",
        )
        for i in range(n)
    ]
