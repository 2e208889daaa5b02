"""Changes between two calls that once made a move lose, grant or change too much.

A half-built group that gained a member, an inline document rewritten during the
read-back, a revocation during the read-back's retries, a user replaced while the run
re-plans under its lock, and a group joined since the read that fills the user's quota.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from remediation_helpers import (
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    before_call,
    canonical_document,
    effective_policies,
    once_before,
    recorded_calls,
    remediate,
)

from no_direct_policies.cli import audit
from no_direct_policies.cli.remediate import account_snapshot, remediate_user
from no_direct_policies.compliance import UserPolicies
from no_direct_policies.move.plan import group_name
from no_direct_policies.move.request import RemediationError

PATH = "/config-remediation/"
BOTH = group_name("MovedPolicies-", [S3_FULL, READ_ONLY], [])
NEW_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
}


def _read_account(iam: Any):
    """What ``remediate --apply`` reads once: the users and the snapshot."""
    details = audit.AccountDetails()
    users = {
        detail["UserName"]: UserPolicies.from_authorization_details(detail)
        for detail in audit.iter_user_details(iam, keep=details)
    }
    return users, account_snapshot(iam, details)


def _bulk(iam: Any, users, snapshot, name: str, **options: Any) -> dict[str, Any]:
    return remediate_user(iam, users[name], apply=True, helper_options=options, snapshot=snapshot)


# --- A. A partial group completed from the stale snapshot grants its new member -----


def test_bulk_completes_a_partial_group_that_gained_a_member_since_the_snapshot(
    iam, make_user, make_group, observer
):
    # An interrupted run left BOTH carrying only S3_FULL and without members.
    make_group(BOTH, [S3_FULL], path=PATH)
    make_user("alice", [S3_FULL, READ_ONLY])
    make_user("carol", [S3_FULL])
    users, snapshot = _read_account(iam)
    # Between the snapshot and alice's turn, someone puts carol in that group: carol gets
    # nothing new (she has S3_FULL directly).
    observer.add_user_to_group(GroupName=BOTH, UserName="carol")
    carol_before = effective_policies(iam, "carol")

    outcome = _bulk(iam, users, snapshot, "alice")

    print(outcome)
    # The tool attached READ_ONLY to a group with a member: carol gains it.
    assert effective_policies(iam, "carol") == carol_before


def test_helper_completes_a_partial_group_that_gained_a_member_after_it_was_read(
    iam, make_user, make_group, observer
):
    make_group(BOTH, [S3_FULL], path=PATH)
    make_user("alice", [S3_FULL, READ_ONLY])
    make_user("carol", [S3_FULL])
    # After the plan read BOTH (memberless), before the run's first write (its lock).
    once_before(
        iam,
        "CreateGroup",
        lambda: observer.add_user_to_group(GroupName=BOTH, UserName="carol"),
    )
    carol_before = effective_policies(observer, "carol")

    try:
        outcome: Any = remediate(iam, UserName="alice")
    except RemediationError as error:
        outcome = error
    print(outcome)
    assert effective_policies(iam, "carol") == carol_before


# --- B. The first removal's inline check is now older than before -------------------


def test_inline_rewritten_after_the_direct_read_before_the_first_delete_is_not_deleted(
    iam, make_user, make_group, observer
):
    def users(tag: str) -> str:
        make_group(f"Readers{tag}", inline={"lb": LIST_BUCKETS})
        make_user(f"q{tag}", [], inline={"list-buckets": LIST_BUCKETS}, groups=[f"Readers{tag}"])
        return f"q{tag}"

    clean = users("clean")
    calls = recorded_calls(iam, lambda: remediate(iam, UserName=clean, MoveInlinePolicies=True))
    delete = calls.index("DeleteUserPolicy")
    # After the direct read of _before_removals, at the read-back's ListGroupsForUser.
    index = max(i for i in range(delete) if calls[i] == "ListGroupsForUser")
    print(calls[index - 4 : delete + 1])
    user = users("x")

    def rewrite() -> None:
        observer.put_user_policy(
            UserName=user, PolicyName="list-buckets", PolicyDocument=json.dumps(NEW_DOC)
        )

    with before_call(iam, index, rewrite):
        try:
            outcome: Any = remediate(iam, UserName=user, MoveInlinePolicies=True)
        except (RemediationError, ClientError) as error:
            outcome = error
    print(outcome)
    assert canonical_document(NEW_DOC) in effective_policies(iam, user).inline


# --- C. Under the lock the user's groups are no longer read: the quota check is stale --


def test_group_joined_before_the_lock_is_counted_against_groups_per_user_quota(
    iam, make_user, make_group, observer, quotas
):
    quotas["GroupsPerUserQuota"] = 2
    make_group("Other1")
    make_group("Other2")
    make_user("alice", [S3_FULL], groups=["Other1"])

    def limit(params: dict, **_kwargs: Any) -> None:  # IAM's GroupsPerUserQuota, which moto lacks
        user = params["body"]["UserName"]
        if len(observer.list_groups_for_user(UserName=user)["Groups"]) >= 2:
            raise ClientError(
                {"Error": {"Code": "LimitExceeded", "Message": "groups per user"}},
                "AddUserToGroup",
            )

    iam.meta.events.register("before-call.iam.AddUserToGroup", limit)
    # Between the first read and the lock, alice joins a second group (now at the quota).
    once_before(
        iam, "CreateGroup", lambda: observer.add_user_to_group(GroupName="Other2", UserName="alice")
    )
    groups_before = {g["GroupName"] for g in observer.list_groups()["Groups"]}

    try:
        outcome: Any = remediate(iam, UserName="alice")
    except (RemediationError, ClientError) as error:
        outcome = error
    print(type(outcome).__name__, outcome)
    groups_after = {g["GroupName"] for g in observer.list_groups()["Groups"]}
    # Rule 4: quotas are checked before any change; a refusal changes nothing.
    assert str(outcome).startswith("Refused"), outcome
    assert groups_after == groups_before


# --- D. A revocation during the read-back's retries is no longer seen before removals --


def test_revocation_while_the_read_back_waits_for_iam_is_taken_back(iam, make_user, observer):
    from no_direct_policies.move.request import move_user_policies, parse_payload

    make_user("alice", [S3_FULL, READ_ONLY])
    joined: list[bool] = []
    seen: list[int] = []
    iam.meta.events.register("after-call.iam.AddUserToGroup", lambda **_kwargs: joined.append(True))

    def not_yet_consistent(parsed: dict, **_kwargs: Any) -> None:
        # The first ListGroupsForUser after the join does not show the new membership yet
        # (IAM's eventual consistency, which the read-back retries for).
        if joined and not seen:
            seen.append(1)
            parsed["Groups"] = [g for g in parsed["Groups"] if g["GroupName"] != BOTH]

    revoked: list[bool] = []

    def sleep(_delay: float) -> None:  # someone revokes READ_ONLY while the run waits
        if not revoked:
            revoked.append(True)
            observer.detach_user_policy(UserName="alice", PolicyArn=READ_ONLY)

    iam.meta.events.register("after-call.iam.ListGroupsForUser", not_yet_consistent)
    try:
        outcome: Any = move_user_policies(iam, parse_payload({"UserName": "alice"}), sleep=sleep)
    except RemediationError as error:
        outcome = error
    print(type(outcome).__name__, outcome)
    assert revoked
    # READ_ONLY was revoked by someone else: the tool must not keep granting it.
    assert READ_ONLY not in effective_policies(observer, "alice").managed
    assert S3_FULL in effective_policies(observer, "alice").managed


# --- E. After a re-plan under the lock, the first join has no GetUser after the re-read --


def test_user_replaced_after_the_re_read_under_the_lock_is_not_joined(
    iam, make_user, make_group, observer
):
    make_group(BOTH, [S3_FULL, READ_ONLY], path=PATH)  # complete, no members
    make_user("alice", [S3_FULL])
    # Between the first read and the lock, alice is given READ_ONLY: the run re-plans.
    once_before(
        iam,
        "CreateGroup",
        lambda: observer.attach_user_policy(UserName="alice", PolicyArn=READ_ONLY),
    )
    summaries: list[int] = []

    def replace_alice(**_kwargs: Any) -> None:
        summaries.append(1)
        if len(summaries) == 2:  # the re-plan's read, after the re-read of alice
            observer.update_user(UserName="alice", NewUserName="alice-old")
            observer.create_user(UserName="alice")  # a new principal, with nothing

    iam.meta.events.register("before-call.iam.GetAccountSummary", replace_alice)
    granted: list[Any] = []
    iam.meta.events.register(
        "after-call.iam.AddUserToGroup",
        lambda **_kwargs: granted.append(effective_policies(observer, "alice")),
    )

    try:
        outcome: Any = remediate(iam, UserName="alice")
    except RemediationError as error:
        outcome = error
    print(type(outcome).__name__, outcome)
    assert len(summaries) >= 2
    # The new principal "alice" must never be granted what the old alice's group carries.
    assert granted == [], granted
