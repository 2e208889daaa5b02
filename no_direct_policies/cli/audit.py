"""The read-only audit: every IAM user of an account judged by the rule's own decision.

It reads the account the way the rule's periodic sweep does
(``iter_account_users``: GetAccountAuthorizationDetails, 1000 users a page)
and decides each user with the rule's ``decide``; nothing is re-implemented.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from no_direct_policies.compliance import (
    NON_COMPLIANT,
    RuleOptions,
    UserPolicies,
    decide,
    iter_account_users,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# Below one full page the audit is quick; progress lines would only be noise.
PROGRESS_FROM_USERS = 1000


def audit_row(user: UserPolicies, options: RuleOptions) -> dict[str, str]:
    """One user's line of the report, as the Config dashboard would show it."""
    verdict = decide(user, options)
    return {
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Path": user.path,
        "ComplianceType": verdict.compliance_type,
        "Annotation": verdict.annotation,
    }


def progress_printer(stream: TextIO = sys.stderr) -> Callable[[int], None]:
    """An ``on_page`` callback that reports how many users were read, on large accounts."""

    def on_page(users_so_far: int) -> None:
        if users_so_far >= PROGRESS_FROM_USERS:
            print(f"audit: {users_so_far} IAM users read", file=stream, flush=True)

    return on_page


def audit_account(
    iam_client: IAMClient,
    options: RuleOptions,
    on_page: Callable[[int], None] | None = None,
) -> tuple[list[UserPolicies], list[dict[str, str]]]:
    """All users of the account and their report rows, in IAM's listing order."""
    users = list(iter_account_users(iam_client, on_page=on_page))
    return users, [audit_row(user, options) for user in users]


def any_noncompliant(rows: list[dict[str, str]]) -> bool:
    """True when at least one user is NON_COMPLIANT (the audit then exits 1)."""
    return any(row["ComplianceType"] == NON_COMPLIANT for row in rows)
