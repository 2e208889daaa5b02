"""The adversarial review's cases, each a change made by someone else at the worst moment.

Ported from the review (one test per finding, named after what must hold). Where IAM's
lack of a conditional write leaves a window (the calls between the last read that
guards a write and the write, or between a write and the read that undoes it), the test
names that window explicitly; every other injection point must lose and gain nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from remediation_helpers import (
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    Effective,
    before_call,
    canonical_document,
    delete_user,
    effective_policies,
    iam_snapshot,
    once_before,
    recorded_calls,
    remediate,
)

from no_direct_policies.move.plan import group_name, lock_group_name
from no_direct_policies.move.request import (
    RemediationError,
    RemediationRefused,
    RemediationStopped,
)

GROUP = group_name("MovedPolicies-", [S3_FULL], [])
BOTH = group_name("MovedPolicies-", [S3_FULL, READ_ONLY], [])
NEW_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
}


def _outcome(iam: Any, **payload: Any) -> dict[str, Any] | Exception:
    try:
        return remediate(iam, **payload)
    except (RemediationError, ClientError) as error:
        return error


def _index_before(calls: list[str], write: str, read: str, nth: int = 0) -> int:
    """The index of the last ``read`` before the ``nth`` call of ``write`` in ``calls``."""
    position = [i for i, name in enumerate(calls) if name == write][nth]
    return max(i for i in range(position) if calls[i] == read)


# --- 1. A policy attached to the run's group by someone else is never kept -------------


def test_policy_attached_to_the_group_before_join_is_taken_back_at_once(
    iam, make_user, observer, guard
):
    make_user("John", [S3_FULL])
    guard.watch("John")
    once_before(
        iam,
        "AddUserToGroup",
        lambda: observer.attach_group_policy(GroupName=GROUP, PolicyArn=READ_ONLY),
    )

    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    message = str(stopped.value)
    assert f"group {GROUP} also carries {READ_ONLY}" in message
    assert f"until this run removed John from {GROUP} again" in message
    # The one window IAM leaves: attached after the check right before AddUserToGroup, the
    # policy reaches John from that call until the take-back (reads, lock check, removal).
    window = ("AddUserToGroup", "ListAttachedGroupPolicies", "ListGroupPolicies", "GetGroup")
    assert guard.violations == [f"after {name}: John gained ['{READ_ONLY}']" for name in window]
    assert effective_policies(iam, "John").managed == {S3_FULL}
    assert iam.list_groups_for_user(UserName="John")["Groups"] == []


def test_policy_attached_to_the_group_before_the_check_is_never_granted(
    iam, make_user, observer, guard
):
    make_user("Jclean", [S3_FULL])
    calls = recorded_calls(iam, lambda: remediate(iam, UserName="Jclean", GroupNamePrefix="C-"))
    make_user("John", [S3_FULL])
    guard.watch("John")
    # The check right before the join reads what the group carries, managed policies first.
    check = _index_before(calls, "AddUserToGroup", "ListAttachedGroupPolicies")
    with before_call(
        iam, check, lambda: observer.attach_group_policy(GroupName=GROUP, PolicyArn=READ_ONLY)
    ):
        outcome = _outcome(iam, UserName="John")

    assert isinstance(outcome, RemediationStopped), outcome
    assert "John was not added" in str(outcome)
    assert guard.violations == []


def test_rerun_after_that_stop_refuses_the_changed_group(iam, make_user, observer):
    make_user("John", [S3_FULL])
    once_before(
        iam,
        "AddUserToGroup",
        lambda: observer.attach_group_policy(GroupName=GROUP, PolicyArn=READ_ONLY),
    )
    with pytest.raises(RemediationStopped):
        remediate(iam, UserName="John")

    with pytest.raises(RemediationRefused, match=f"other managed policies attached: {READ_ONLY}"):
        remediate(iam, UserName="John")
    assert effective_policies(iam, "John").managed == {S3_FULL}


def test_a_remediation_group_the_user_is_in_that_carries_more_is_refused_not_covering(
    iam, make_user, observer
):
    # After a complete move, someone attaches READ_ONLY to the user's group and gives the
    # user S3 directly again: the group must not count as covering S3.
    make_user("John", [S3_FULL])
    remediate(iam, UserName="John")
    observer.attach_group_policy(GroupName=GROUP, PolicyArn=READ_ONLY)
    observer.attach_user_policy(UserName="John", PolicyArn=S3_FULL)
    before = iam_snapshot(iam)

    with pytest.raises(RemediationRefused) as refused:
        remediate(iam, UserName="John")

    assert f"group {GROUP}, a remediation group whose contents" in str(refused.value)
    assert READ_ONLY in str(refused.value)
    assert iam_snapshot(iam) == before


# --- 2. The route through a group is re-read right before each removal -------------


ROUTE_CASES = {
    "user-removed-from-the-run-group": ("run-group", 0),
    "policy-detached-from-a-covering-group": ("covering-group", 0),
    "user-removed-between-two-detaches": ("run-group", 1),
}


@pytest.mark.parametrize("case", ROUTE_CASES)
def test_route_removed_before_the_removal_reads_keeps_the_policy(
    iam, make_user, observer, guard, case
):
    setup, nth = ROUTE_CASES[case]

    def users(tag: str) -> str:
        if setup == "covering-group":
            observer.create_group(GroupName=f"Dev{tag}")
            observer.attach_group_policy(GroupName=f"Dev{tag}", PolicyArn=S3_FULL)
            make_user(f"J{tag}", [S3_FULL, READ_ONLY], groups=[f"Dev{tag}"])
        else:
            make_user(f"J{tag}", [S3_FULL, READ_ONLY])
        return f"J{tag}"

    clean = users("clean")
    calls = recorded_calls(iam, lambda: remediate(iam, UserName=clean, GroupNamePrefix="C-"))
    user = users("x")
    guard.watch(user)
    moved = [READ_ONLY] if setup == "covering-group" else sorted([S3_FULL, READ_ONLY])
    run_group = group_name("M-", moved, [])

    def competitor() -> None:
        if setup == "run-group":
            observer.remove_user_from_group(GroupName=run_group, UserName=user)
        else:
            observer.detach_group_policy(GroupName="Devx", PolicyArn=S3_FULL)
        if nth:  # S3 was moved already: taking the user out of its group revokes it
            guard.revoke(user, Effective(frozenset({S3_FULL}), frozenset()))

    index = _index_before(calls, "DetachUserPolicy", "ListGroupsForUser", nth)
    with before_call(iam, index, competitor):
        outcome = _outcome(iam, UserName=user, GroupNamePrefix="M-")

    assert isinstance(outcome, RemediationStopped), outcome
    assert "would no longer reach" in str(outcome)
    assert guard.violations == []


# --- 3. An inline policy rewritten mid-run is never deleted -------------------------


@pytest.mark.parametrize("covered", [True, False])
def test_inline_policy_rewritten_before_the_delete_is_not_deleted(
    iam, make_user, make_group, observer, covered
):
    def users(tag: str) -> str:
        if covered:
            make_group(f"Readers{tag}", inline={"lb": LIST_BUCKETS})
            make_user(
                f"q{tag}", [], inline={"list-buckets": LIST_BUCKETS}, groups=[f"Readers{tag}"]
            )
        else:
            make_user(f"q{tag}", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
        return f"q{tag}"

    clean = users("clean")
    payload = {"MoveInlinePolicies": True}
    # Each run creates its own group (its own prefix), so both make the same calls.
    calls = recorded_calls(
        iam, lambda: remediate(iam, UserName=clean, GroupNamePrefix="C-", **payload)
    )
    user = users("x")
    payload["GroupNamePrefix"] = "M-"
    index = _index_before(calls, "DeleteUserPolicy", "GetUserPolicy")

    def rewrite() -> None:
        observer.put_user_policy(
            UserName=user, PolicyName="list-buckets", PolicyDocument=json.dumps(NEW_DOC)
        )

    with before_call(iam, index, rewrite):
        outcome = _outcome(iam, UserName=user, **payload)

    assert isinstance(outcome, RemediationError), outcome
    assert "inline policy list-buckets" in str(outcome)
    assert "rewritten" in str(outcome)
    assert canonical_document(NEW_DOC) in effective_policies(iam, user).inline


def test_covered_inline_policy_rewritten_early_is_seen_by_the_check_before_removals(
    iam, make_user, make_group, observer
):
    make_group("Readers", inline={"lb": LIST_BUCKETS})
    make_user("quinn", [S3_FULL], inline={"list-buckets": LIST_BUCKETS}, groups=["Readers"])
    once_before(
        iam,
        "AddUserToGroup",
        lambda: observer.put_user_policy(
            UserName="quinn", PolicyName="list-buckets", PolicyDocument=json.dumps(NEW_DOC)
        ),
    )

    with pytest.raises(RemediationStopped, match="list-buckets of quinn was rewritten"):
        remediate(iam, UserName="quinn", MoveInlinePolicies=True)
    assert canonical_document(NEW_DOC) in effective_policies(iam, "quinn").inline
    assert S3_FULL in effective_policies(iam, "quinn").managed


# --- 4. A take-back that IAM keeps refusing is reported with the command ------------


def _fail_remove_user_from_group(iam: Any) -> Any:
    def hook(model: Any, **_kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ServiceFailure", "Message": "injected"}}, model.name)

    iam.meta.events.register("before-call.iam.RemoveUserFromGroup", hook)
    return hook


def test_failed_take_back_of_a_revoked_policy_is_retried_then_names_the_command(
    iam, make_user, observer
):
    make_user("John", [S3_FULL, READ_ONLY])
    once_before(
        iam,
        "AddUserToGroup",
        lambda: observer.detach_user_policy(UserName="John", PolicyArn=READ_ONLY),
    )
    hook = _fail_remove_user_from_group(iam)
    delays: list[float] = []
    from remediation_helpers import request_for

    from no_direct_policies.move.request import move_user_policies

    with pytest.raises(RemediationStopped) as stopped:
        move_user_policies(iam, request_for(UserName="John"), sleep=delays.append)
    iam.meta.events.unregister("before-call.iam.RemoveUserFromGroup", hook)

    message = str(stopped.value)
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]  # retried with backoff
    assert f"John is still in {BOTH}, which grants it {READ_ONLY}" in message
    command = f"aws iam remove-user-from-group --group-name {BOTH} --user-name John"
    assert command in message
    observer.remove_user_from_group(GroupName=BOTH, UserName="John")  # the operator does it
    remediate(iam, UserName="John")
    assert effective_policies(iam, "John").managed == {S3_FULL}


def test_failed_take_back_from_a_new_principal_names_it_and_the_command(iam, make_user, observer):
    make_user("John", [S3_FULL])

    def replace() -> None:
        delete_user(observer, "John")
        observer.create_user(UserName="John")

    once_before(iam, "AddUserToGroup", replace)
    hook = _fail_remove_user_from_group(iam)
    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")
    iam.meta.events.unregister("before-call.iam.RemoveUserFromGroup", hook)

    message = str(stopped.value)
    assert f"John is still in {GROUP}, which grants it what that group carries" in message
    assert f"aws iam remove-user-from-group --group-name {GROUP} --user-name John" in message


# --- 5. Two runs for the same user: the run lock ------------------------------------


def test_second_run_during_the_first_is_refused_and_nothing_is_lost(iam, make_user, observer):
    john = make_user("John", [S3_FULL, READ_ONLY])
    second: list[Any] = []
    once_before(iam, "DetachUserPolicy", lambda: second.append(_outcome(observer, UserName="John")))

    result = remediate(iam, UserName="John")

    assert result["Status"] == "MOVED"
    assert isinstance(second[0], RemediationRefused)
    lock = lock_group_name(john["UserId"])
    assert "another remediation of this user is in progress" in str(second[0])
    assert f"lock group {lock} created at" in str(second[0])
    assert effective_policies(iam, "John").managed == {S3_FULL, READ_ONLY}
    assert [g["GroupName"] for g in iam.list_groups()["Groups"]] == [BOTH]  # lock released


def test_stale_lock_is_taken_over(iam, make_user, observer):
    john = make_user("John", [S3_FULL])
    lock = lock_group_name(john["UserId"])
    observer.create_group(GroupName=lock, Path="/config-remediation/")

    def age(parsed: dict, **_kwargs: Any) -> None:
        if parsed.get("Group", {}).get("GroupName") == lock:
            created = parsed["Group"]["CreateDate"]
            parsed["Group"]["CreateDate"] = created.replace(year=created.year - 1)

    with pytest.raises(RemediationRefused, match="in progress"):
        remediate(iam, UserName="John")  # a fresh lock: another run holds it
    iam.meta.events.register("after-call.iam.GetGroup", age)
    try:
        assert remediate(iam, UserName="John")["Status"] == "MOVED"
    finally:
        iam.meta.events.unregister("after-call.iam.GetGroup", age)
    assert lock not in {g["GroupName"] for g in iam.list_groups()["Groups"]}


def test_a_member_added_to_the_lock_group_is_reported_loudly(iam, make_user, observer):
    john = make_user("John", [S3_FULL])
    make_user("Eve", [])
    lock = lock_group_name(john["UserId"])
    once_before(
        iam, "DetachUserPolicy", lambda: observer.add_user_to_group(GroupName=lock, UserName="Eve")
    )

    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    assert f"The run lock group {lock} has members (Eve)" in str(stopped.value)
    assert "was not deleted" in str(stopped.value)
    assert effective_policies(iam, "John").managed == {S3_FULL}


def test_dry_run_takes_no_lock(iam, make_user):
    make_user("John", [S3_FULL])
    calls = recorded_calls(iam, lambda: remediate(iam, UserName="John", DryRun=True))
    assert [call for call in calls if not call.startswith(("Get", "List"))] == []


# --- 6. A user renamed mid-run -------------------------------------------------------


def test_rename_before_join_says_what_is_left_to_remediate(iam, make_user, observer):
    john = make_user("John", [S3_FULL])
    once_before(
        iam, "AddUserToGroup", lambda: observer.update_user(UserName="John", NewUserName="Johnny")
    )
    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    message = str(stopped.value)
    assert "Nothing is left to remediate" not in message
    assert "was renamed to Johnny during the remediation" in message
    assert f"Run the remediation again for {john['UserId']}" in message
    assert remediate(iam, IAMResourceId=john["UserId"])["Status"] == "MOVED"


def test_rename_after_join_names_the_membership_that_stays(iam, make_user, observer):
    make_user("John", [S3_FULL])
    once_before(
        iam, "DetachUserPolicy", lambda: observer.update_user(UserName="John", NewUserName="Johnny")
    )
    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName="Johnny")["Groups"]]
    assert groups == [GROUP]
    message = str(stopped.value)
    assert "A group without members grants nobody anything" not in message
    assert f"Johnny is in {GROUP}." in message


# --- 7. An AWS error after a change is a stop that says what was changed -------------


def test_error_on_the_second_detach_is_a_stop_that_says_what_was_moved(iam, make_user):
    make_user("John", [S3_FULL, READ_ONLY])
    seen: list[int] = []

    def hook(model: Any, **_kwargs: Any) -> None:
        seen.append(1)
        if len(seen) == 2:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, model.name
            )

    iam.meta.events.register("before-call.iam.DetachUserPolicy", hook)
    outcome = _outcome(iam, UserName="John")

    assert isinstance(outcome, RemediationStopped), outcome
    assert "AWS error Throttling on DetachUserPolicy" in str(outcome)
    assert f"Moved off John: {S3_FULL}" in str(outcome)
    assert outcome.__cause__ is not None


def test_guard_lists_violations_as_named(iam, make_user, observer, guard):
    """Sanity for the window assertions above: the guard reports gains by call name."""
    make_user("John", [S3_FULL])
    guard.watch("John")
    observer.create_group(GroupName="G")
    observer.attach_group_policy(GroupName="G", PolicyArn=READ_ONLY)
    iam.add_user_to_group(GroupName="G", UserName="John")
    assert guard.violations == [f"after AddUserToGroup: John gained ['{READ_ONLY}']"]
    assert effective_policies(iam, "John") == Effective(
        frozenset({S3_FULL, READ_ONLY}), frozenset()
    )
