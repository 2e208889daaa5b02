"""The read-only audit: every IAM user of an account judged by the rule's own decision.

It reads the account the way the rule's periodic sweep does
(GetAccountAuthorizationDetails, 1000 users a page) and decides each user with
the rule's ``decide``; nothing is re-implemented. Users are yielded as each page
arrives, so memory holds one page, whatever the number of users.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from no_direct_policies.cli.clients import DEFAULT_REGION, NotAnAwsResponse
from no_direct_policies.compliance import (
    AUTHORIZATION_DETAILS_PAGE_SIZE,
    RuleOptions,
    UserPolicies,
    decide,
)
from no_direct_policies.findings.model import Finding

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

OPERATION = "GetAccountAuthorizationDetails"


def _malformed(iam_client: Any, detail: str) -> NotAnAwsResponse:
    return NotAnAwsResponse(iam_client.meta.endpoint_url, f"iam:{OPERATION}", detail)


@dataclass
class AccountDetails:
    """The entries of the account's read, kept whole for planning the remediation."""

    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)


def iter_user_details(
    iam_client: IAMClient,
    on_page: Callable[[int], None] | None = None,
    keep: AccountDetails | None = None,
) -> Iterator[dict[str, Any]]:
    """Every ``UserDetailList`` entry of the account, one page at a time.

    ``on_page(users_so_far)`` runs after each page. With ``keep`` the groups are read
    too (the ``Group`` filter, in the same pages) and every user and group entry is
    kept there. An answer that cannot be AWS's (a truncated page without a Marker, a
    user without UserName or UserId) raises NotAnAwsResponse rather than a KeyError.
    """
    kinds = ["User", "Group"] if keep is not None else ["User"]
    request: dict[str, Any] = {"Filter": kinds, "MaxItems": AUTHORIZATION_DETAILS_PAGE_SIZE}
    users_so_far = 0
    while True:
        page: Any = iam_client.get_account_authorization_details(**request)
        for user_detail in page.get("UserDetailList") or ():
            if not user_detail.get("UserName") or not user_detail.get("UserId"):
                raise _malformed(iam_client, "a user entry without UserName or UserId")
            users_so_far += 1
            if keep is not None:
                keep.users.append(user_detail)
            yield user_detail
        if keep is not None:
            for group_detail in page.get("GroupDetailList") or ():
                if not group_detail.get("GroupName") or "Path" not in group_detail:
                    raise _malformed(iam_client, "a group entry without GroupName or Path")
                keep.groups.append(group_detail)
        if on_page is not None:
            on_page(users_so_far)
        if not page.get("IsTruncated"):
            return
        if not page.get("Marker"):
            raise _malformed(iam_client, "IsTruncated=true without a Marker")
        request["Marker"] = page["Marker"]
        del page  # keep one page in memory, not two


def account_of_arn(arn: str) -> str:
    """The account ID field of an ARN (``arn:aws:iam::123456789012:user/x``), or ''."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def iter_findings(
    iam_client: IAMClient,
    options: RuleOptions,
    *,
    account_id: str | None = None,
    region: str = DEFAULT_REGION,
    on_page: Callable[[int], None] | None = None,
    keep: AccountDetails | None = None,
) -> Iterator[tuple[UserPolicies, Finding]]:
    """Each user of the account with its finding (the rule's verdict), in IAM's order.

    ``account_id`` defaults to the one in each user's ARN; ``region`` is the region the
    findings are reported in (IAM itself is global); ``keep`` as in ``iter_user_details``.
    """
    for user_detail in iter_user_details(iam_client, on_page=on_page, keep=keep):
        user = UserPolicies.from_authorization_details(user_detail)
        verdict = decide(user, options)
        finding = Finding.from_account_details(
            user_detail,
            verdict.compliance_type,
            verdict.annotation,
            account_id=account_id or account_of_arn(user_detail.get("Arn", "")),
            region=region,
        )
        yield user, finding
