"""Undo: the move taken back, with the move's guarantees reversed (``undo_plan``'s docstring).

Each test moves a user first with the helper itself, then undoes it; the
``guard`` reads every watched user's effective policies after every IAM call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from move_policies_to_group import lambda_handler
from remediation_helpers import (
    CHANGE_PASSWORD,
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    Effective,
    before_call,
    effective_policies,
    iam_snapshot,
    once_before,
    recorded_calls,
    remediate,
)

from no_direct_policies.cli.undo import undo_user
from no_direct_policies.compliance import UserPolicies
from no_direct_policies.move.plan import (
    GroupState,
    InlinePolicy,
    RemediationRefused,
    RemediationStopped,
    UserState,
)
from no_direct_policies.move.undo import parse_undo_payload, restore_user_policies
from no_direct_policies.move.undo_plan import UndoQuotas, plan_undo

PATH = "/config-remediation/"
QUOTAS = UndoQuotas(attached_policies_per_user=10, user_policy_size=2048)


def undo(iam: Any, **payload: Any) -> dict[str, Any]:
    """Run the undo's public entry points exactly as the handler does."""
    return restore_user_policies(iam, parse_undo_payload(payload), sleep=lambda _delay: None)


def direct(iam: Any, user: str) -> set[str]:
    return {
        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    }


def groups_of(iam: Any, user: str) -> list[str]:
    return [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]]


# --- The planner -----------------------------------------------------------


def _group(name: str, arns: set[str], path: str = PATH, inline=frozenset()) -> GroupState:
    return GroupState(name, path, frozenset(arns), frozenset(inline))


def test_plan_attaches_every_policy_of_the_remediation_groups_then_leaves_them():
    user = UserState(
        "john",
        "AIDAJOHN",
        (CHANGE_PASSWORD,),
        groups=(_group("Moved-a", {S3_FULL, READ_ONLY}), _group("developers", {READ_ONLY}, "/")),
    )

    plan = plan_undo(user, QUOTAS, PATH)

    assert plan.actions == [
        {"Action": "AttachUserPolicy", "UserName": "john", "PolicyArn": S3_FULL},
        {"Action": "AttachUserPolicy", "UserName": "john", "PolicyArn": READ_ONLY},
        {"Action": "RemoveUserFromGroup", "GroupName": "Moved-a", "UserName": "john"},
    ]
    assert plan.restored_policy_arns == (S3_FULL, READ_ONLY)


def test_plan_never_removes_a_membership_of_a_group_outside_the_path():
    for path in ("/", "/config-remediation/sub/", "/config-remediation-other/"):
        user = UserState("john", "AIDAJOHN", (), groups=(_group("Moved-a", {S3_FULL}, path),))
        plan = plan_undo(user, QUOTAS, PATH)
        assert plan.actions == []


def test_plan_skips_what_is_already_attached_directly():
    user = UserState("john", "AIDAJOHN", (S3_FULL,), groups=(_group("Moved-a", {S3_FULL}),))

    assert plan_undo(user, QUOTAS, PATH).actions == [
        {"Action": "RemoveUserFromGroup", "GroupName": "Moved-a", "UserName": "john"}
    ]


def test_plan_refuses_when_the_user_cannot_hold_the_policies():
    arns = {f"arn:aws:iam::aws:policy/P{i}" for i in range(9)}
    user = UserState("john", "AIDAJOHN", (CHANGE_PASSWORD, S3_FULL), groups=(_group("M", arns),))

    with pytest.raises(RemediationRefused, match=r"AttachedPoliciesPerUserQuota \(10\)"):
        plan_undo(user, QUOTAS, PATH)


def test_plan_puts_inline_policies_back_and_refuses_a_name_taken_by_another_document():
    policy = InlinePolicy.from_document("list-buckets", LIST_BUCKETS)
    other = InlinePolicy.from_document("list-buckets", {"Version": "2012-10-17", "Statement": []})
    user = UserState("quinn", "AIDAQ", (), groups=(_group("M", set(), inline={policy}),))

    (put, _leave) = plan_undo(user, QUOTAS, PATH).actions
    assert put["Action"] == "PutUserPolicy"
    assert put["PolicyName"] == "list-buckets"

    clash = UserState("quinn", "AIDAQ", (), (other,), groups=user.groups)
    with pytest.raises(RemediationRefused, match="another document under that name"):
        plan_undo(clash, QUOTAS, PATH)


def test_plan_refuses_inline_policies_over_the_size_quota():
    policy = InlinePolicy.from_document("list-buckets", LIST_BUCKETS)
    user = UserState("quinn", "AIDAQ", (), groups=(_group("M", set(), inline={policy}),))

    with pytest.raises(RemediationRefused, match="UserPolicySizeQuota"):
        plan_undo(user, UndoQuotas(10, 20), PATH)


# --- Against IAM (moto) ----------------------------------------------------


def test_move_then_undo_gives_the_user_its_direct_policies_and_the_group_keeps_serving_others(
    iam, make_user, guard
):
    make_user("john", [S3_FULL, CHANGE_PASSWORD])
    make_user("david", [S3_FULL])
    for name in ("john", "david"):
        remediate(iam, UserName=name, ExemptPolicyArns=CHANGE_PASSWORD)
    (group,) = groups_of(iam, "john")
    john, david = guard.watch("john"), guard.watch("david")

    result = undo(iam, UserName="john")

    assert result["Status"] == "RESTORED"
    assert result["Groups"] == [group]
    assert result["RestoredPolicyArns"] == [S3_FULL]
    assert direct(iam, "john") == {S3_FULL, CHANGE_PASSWORD}
    assert groups_of(iam, "john") == []
    assert groups_of(iam, "david") == [group]  # the shared group still serves david
    assert effective_policies(iam, "john") == john
    assert effective_policies(iam, "david") == david
    assert guard.violations == []
    assert guard.checks > 0
    assert undo(iam, UserName="john")["Status"] == "NOTHING_TO_RESTORE"


def test_undo_of_a_split_move_with_inline_policies(iam, make_user, quotas, aws_managed_arns, guard):
    quotas["AttachedPoliciesPerGroupQuota"] = 2
    make_user("quinn", aws_managed_arns[:3], inline={"list-buckets": LIST_BUCKETS})
    remediate(iam, UserName="quinn", MoveInlinePolicies=True)
    assert len(groups_of(iam, "quinn")) == 2
    baseline = guard.watch("quinn")

    result = undo(iam, UserName="quinn")

    assert result["Status"] == "RESTORED"
    assert direct(iam, "quinn") == set(aws_managed_arns[:3])
    assert iam.list_user_policies(UserName="quinn")["PolicyNames"] == ["list-buckets"]
    assert groups_of(iam, "quinn") == []
    assert effective_policies(iam, "quinn") == baseline
    assert guard.violations == []


def test_a_user_that_never_went_through_a_remediation_is_not_touched(
    iam, make_user, make_group, call_log
):
    make_group("developers", [READ_ONLY])
    make_group("lookalike", [S3_FULL], path="/config-remediation/other/")
    make_user("alice", [S3_FULL], groups=["developers", "lookalike"])
    before = iam_snapshot(iam)
    call_log.calls.clear()

    assert undo(iam, UserName="alice")["Status"] == "NOTHING_TO_RESTORE"
    assert call_log.writes == []
    assert iam_snapshot(iam) == before


def test_dry_run_plans_and_changes_nothing(iam, make_user, call_log):
    make_user("john", [S3_FULL])
    remediate(iam, UserName="john")
    before = iam_snapshot(iam)
    call_log.calls.clear()

    result = undo(iam, UserName="john", DryRun=True)

    assert result["Status"] == "PLANNED"
    assert [a["Action"] for a in result["Actions"]] == ["AttachUserPolicy", "RemoveUserFromGroup"]
    assert call_log.writes == []
    assert iam_snapshot(iam) == before


def test_quota_refusal_changes_nothing(iam, make_user, quotas):
    make_user("john", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="john")
    before = iam_snapshot(iam)
    quotas["AttachedPoliciesPerUserQuota"] = 1

    with pytest.raises(RemediationRefused, match="AttachedPoliciesPerUserQuota"):
        undo(iam, UserName="john")
    assert iam_snapshot(iam) == before


@pytest.mark.parametrize("inline", [False, True], ids=["managed", "inline"])
def test_failure_of_any_single_call_loses_nothing_gains_nothing_and_a_rerun_completes(
    iam, make_user, fail_call, inline
):
    extra = {"inline": {"list-buckets": LIST_BUCKETS}} if inline else {}
    move = {"MoveInlinePolicies": True} if inline else {}

    def setup(tag: str) -> str:
        make_user(f"john{tag}", [S3_FULL, READ_ONLY], **extra)
        remediate(iam, UserName=f"john{tag}", GroupNamePrefix=f"M{tag}-", **move)
        return f"john{tag}"

    clean = setup("clean")
    calls = recorded_calls(iam, lambda: undo(iam, UserName=clean))
    assert len(calls) > 5
    for failing in range(len(calls)):
        user = setup(str(failing))
        baseline = effective_policies(iam, user)
        fail_call(failing)

        # Before any change the AWS error as it is; after one, a stop that says what changed.
        with pytest.raises((ClientError, RemediationStopped), match="injected") as raised:
            undo(iam, UserName=user)

        if isinstance(raised.value, RemediationStopped):
            assert "AWS error ServiceFailure" in str(raised.value), calls[failing]
        assert effective_policies(iam, user) == baseline, calls[failing]
        fail_call(-1)
        # A failure after the last removal (a read checking it) leaves the undo complete.
        done = "RemoveUserFromGroup" not in calls[failing:]
        expected = {"RESTORED", "NOTHING_TO_RESTORE"} if done else {"RESTORED"}
        assert undo(iam, UserName=user)["Status"] in expected, calls[failing]
        assert effective_policies(iam, user) == baseline
        assert direct(iam, user) == {S3_FULL, READ_ONLY}
        assert groups_of(iam, user) == []
        assert undo(iam, UserName=user)["Status"] == "NOTHING_TO_RESTORE"


def test_a_revocation_from_the_group_during_the_undo_stands(iam, make_user, observer, guard):
    make_user("john", [S3_FULL, READ_ONLY])
    make_user("david", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="john")
    remediate(iam, UserName="david")
    (group,) = groups_of(iam, "john")

    def revoke() -> None:
        observer.detach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
        guard.revoke("john", Effective(frozenset({READ_ONLY}), frozenset()))
        guard.revoke("david", Effective(frozenset({READ_ONLY}), frozenset()))

    guard.watch("john")
    guard.watch("david")
    # After the restores and the read-back, right before the group is read again.
    index = _index_of_reread(iam, make_user, [S3_FULL, READ_ONLY])
    with before_call(iam, index, revoke):
        result = undo(iam, UserName="john")

    assert result["Status"] == "RESTORED"
    assert result["RestoredPolicyArns"] == [S3_FULL]
    assert direct(iam, "john") == {S3_FULL}  # the revocation stands
    assert effective_policies(iam, "david").managed == {S3_FULL}
    assert [v for v in guard.violations if "lost" in v] == []


def _index_of_reread(iam, make_user, arns: list[str]) -> int:
    """The call index of the group's re-read (ListAttachedGroupPolicies) in a clean undo."""
    make_user("probe", arns)
    remediate(iam, UserName="probe", GroupNamePrefix="Probe-")
    calls = recorded_calls(iam, lambda: undo(iam, UserName="probe"))
    return max(i for i, name in enumerate(calls) if name == "ListAttachedGroupPolicies")


def test_a_policy_the_group_gains_during_the_undo_keeps_the_user_in_it(
    iam, make_user, observer, guard
):
    make_user("john", [S3_FULL])
    remediate(iam, UserName="john")
    (group,) = groups_of(iam, "john")
    index = _index_of_reread(iam, make_user, [S3_FULL])
    guard.watch("john")

    def grant() -> None:
        observer.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
        guard.baselines["john"] = Effective(
            guard.baselines["john"].managed | {READ_ONLY}, frozenset()
        )

    with before_call(iam, index, grant), pytest.raises(RemediationStopped, match="gained"):
        undo(iam, UserName="john")
    assert groups_of(iam, "john") == [group]
    assert guard.violations == []
    assert undo(iam, UserName="john")["RestoredPolicyArns"] == [S3_FULL, READ_ONLY]
    assert direct(iam, "john") == {S3_FULL, READ_ONLY}


def test_a_user_replaced_during_the_undo_is_granted_nothing(iam, make_user, observer):
    make_user("john", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="john")

    def replace() -> None:
        for group in observer.list_groups_for_user(UserName="john")["Groups"]:
            observer.remove_user_from_group(GroupName=group["GroupName"], UserName="john")
        for policy in observer.list_attached_user_policies(UserName="john")["AttachedPolicies"]:
            observer.detach_user_policy(UserName="john", PolicyArn=policy["PolicyArn"])
        observer.delete_user(UserName="john")
        observer.create_user(UserName="john")

    once_before(iam, "AttachUserPolicy", replace)
    with pytest.raises(RemediationStopped, match="was replaced during the undo"):
        undo(iam, UserName="john")
    assert direct(iam, "john") == set()
    assert groups_of(iam, "john") == []


def test_the_helper_runs_the_undo_when_the_payload_says_restore(iam, make_user):
    user_id = make_user("john", [S3_FULL])["UserId"]
    lambda_handler({"IAMResourceId": user_id, "Operation": "Move"}, None)
    assert direct(iam, "john") == set()

    result = lambda_handler({"IAMResourceId": user_id, "Operation": "Restore"}, None)

    assert result["Status"] == "RESTORED"
    assert direct(iam, "john") == {S3_FULL}
    with pytest.raises(RemediationRefused, match="Operation is 'Delete'"):
        lambda_handler({"IAMResourceId": user_id, "Operation": "Delete"}, None)
    with pytest.raises(RemediationRefused, match=r"Unknown payload key.*MoveInlinePolicies"):
        lambda_handler(
            {"IAMResourceId": user_id, "Operation": "Restore", "MoveInlinePolicies": 1}, None
        )


@pytest.mark.parametrize("count", [1, 5, 10])
def test_iam_calls_per_undo_against_the_lower_bound(iam, make_user, aws_managed_arns, count):
    arns = aws_managed_arns[:count]
    make_user("john", arns)
    remediate(iam, UserName="john")

    calls = recorded_calls(iam, lambda: undo(iam, UserName="john"))

    # Lower bound of an undo that checks quotas and reads back before removing: the k
    # attaches and the removal; the user (GetUser by name, ListUsers by ID), its groups, the
    # group's managed and inline policies, its direct policies, the quotas, the read-back.
    lower_bound = (count + 1) + 7
    # Rule 7 of undo_plan: GetUser before each write; before leaving the group, the group, the
    # membership and the user's direct policies read again; the direct policies after leaving.
    # At the end, its groups under the path listed again (one joined meanwhile stops the undo).
    races = (count + 1) + 6
    assert len(calls) == lower_bound + races == 2 * count + 15
    assert calls.count("AttachUserPolicy") == count


def test_a_user_deleted_during_the_undo_stops_it_and_nothing_is_left_behind(
    iam, make_user, observer
):
    make_user("john", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="john")

    def delete() -> None:
        for group in observer.list_groups_for_user(UserName="john")["Groups"]:
            observer.remove_user_from_group(GroupName=group["GroupName"], UserName="john")
        for policy in observer.list_attached_user_policies(UserName="john")["AttachedPolicies"]:
            observer.detach_user_policy(UserName="john", PolicyArn=policy["PolicyArn"])
        observer.delete_user(UserName="john")

    once_before(iam, "AttachUserPolicy", delete)
    with pytest.raises(RemediationRefused, match="was deleted or renamed during the undo"):
        undo(iam, UserName="john")


# --- Adversarial review of the undo ----------------------------------------


# F1: an admin removes the user from its remediation group during the undo (a revocation)
@pytest.mark.parametrize("before", ["AttachUserPolicy", "RemoveUserFromGroup"])
def test_removal_from_the_group_during_the_undo_stands(iam, make_user, observer, before):
    make_user("john", [S3_FULL])
    remediate(iam, UserName="john")
    (group,) = groups_of(iam, "john")

    def revoke():
        observer.remove_user_from_group(GroupName=group, UserName="john")

    once_before(iam, before, revoke)
    with contextlib.suppress(RemediationStopped, RemediationRefused):
        undo(iam, UserName="john")
    # The admin took john out of the only group that gave him S3_FULL: he must not hold it now.
    assert S3_FULL not in direct(iam, "john")


# F2: an AWS error after a first change must be a RemediationStopped that says what changed
def test_service_failure_after_a_change_is_a_stop_that_says_what_changed(iam, make_user, fail_call):
    make_user("john", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="john", GroupNamePrefix="A-")
    make_user("probe", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="probe", GroupNamePrefix="P-")
    calls = recorded_calls(iam, lambda: undo(iam, UserName="probe"))
    index = calls.index("RemoveUserFromGroup")  # after both attaches
    fail_call(index)
    with pytest.raises(RemediationStopped, match="Attached directly to john"):
        undo(iam, UserName="john")


# F3: after a replacement, the stop message must not claim policies are still attached
def test_stop_message_after_replacement_does_not_claim_detached_policies(iam, make_user, observer):
    make_user("john", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="john")

    def replace():
        for g in observer.list_groups_for_user(UserName="john")["Groups"]:
            observer.remove_user_from_group(GroupName=g["GroupName"], UserName="john")
        for p in observer.list_attached_user_policies(UserName="john")["AttachedPolicies"]:
            observer.detach_user_policy(UserName="john", PolicyArn=p["PolicyArn"])
        observer.delete_user(UserName="john")
        observer.create_user(UserName="john")

    # replaced between the GetUser and the first attach (the documented one-call window)
    once_before(iam, "AttachUserPolicy", replace)
    with pytest.raises(RemediationStopped) as stopped:
        undo(iam, UserName="john")
    message = str(stopped.value)
    print(message)
    assert direct(iam, "john") == set()
    assert "Attached directly to john" not in message, message
    assert "holds those policies twice" not in message, message


# F4, a residual window (undo_plan's docstring): the user is replaced under its name at the
# very moment of an attach. IAM's attach does not say whether it added anything, so the undo
# takes back what it attached; the new principal loses a grant it already held, and the stop
# says the name now belongs to another user so that an administrator can restore it.
def test_a_replacement_at_the_attach_is_the_documented_window_and_is_reported(
    iam, make_user, observer
):
    make_user("john", [S3_FULL])
    remediate(iam, UserName="john")

    def replace():
        for g in observer.list_groups_for_user(UserName="john")["Groups"]:
            observer.remove_user_from_group(GroupName=g["GroupName"], UserName="john")
        observer.delete_user(UserName="john")
        observer.create_user(UserName="john")
        observer.attach_user_policy(UserName="john", PolicyArn=S3_FULL)  # its own grant

    once_before(iam, "AttachUserPolicy", replace)
    with pytest.raises(RemediationStopped, match="was replaced") as stopped:
        undo(iam, UserName="john")
    assert S3_FULL in str(stopped.value)  # the stop names the policy taken off the name
    assert direct(iam, "john") == set()  # the window: the new john's own grant went too
    assert effective_policies(iam, "john").managed == set()  # and nothing else was granted


# F5: the read-back is stale when the user leaves: a direct copy detached meanwhile is lost
def test_leaving_a_group_after_the_direct_copy_was_detached_loses_nothing(iam, make_user, observer):
    make_user("john", [S3_FULL])
    remediate(iam, UserName="john")

    def detach():
        observer.detach_user_policy(UserName="john", PolicyArn=S3_FULL)

    once_before(iam, "RemoveUserFromGroup", detach)
    with contextlib.suppress(RemediationStopped, RemediationRefused):
        undo(iam, UserName="john")
    # john held S3_FULL through the group all along; the admin only removed the direct copy.
    assert effective_policies(iam, "john").managed >= {S3_FULL}


# F6: an inline policy the admin puts on the user after the planning read is overwritten
def test_put_user_policy_does_not_replace_a_document_put_during_the_undo(iam, make_user, observer):
    make_user("quinn", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
    remediate(iam, UserName="quinn", MoveInlinePolicies=True)
    other = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
    }

    def put():
        observer.put_user_policy(
            UserName="quinn", PolicyName="list-buckets", PolicyDocument=json.dumps(other)
        )

    once_before(iam, "AttachUserPolicy", put)
    with contextlib.suppress(RemediationStopped, RemediationRefused):
        undo(iam, UserName="quinn")
    doc = iam.get_user_policy(UserName="quinn", PolicyName="list-buckets")["PolicyDocument"]
    assert "ec2:DescribeInstances" in json.dumps(doc)  # the admin's document survives


def test_cli_reports_an_aws_error_after_a_change_as_stopped(iam, make_user, fail_call):
    make_user("probe", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="probe", GroupNamePrefix="P-")
    calls = recorded_calls(
        iam,
        lambda: restore_user_policies(
            iam, parse_undo_payload({"UserName": "probe"}), sleep=lambda _d: None
        ),
    )
    user = make_user("john", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="john", GroupNamePrefix="A-")
    fail_call(calls.index("RemoveUserFromGroup"))
    args = argparse.Namespace(apply=True, group_path=None)
    # undo_user catches only RemediationError: the ClientError escapes, run_undo re-raises it,
    # main() exits with the AWS-error code, the remaining --user names are never undone and
    # nothing says that john now holds both policies directly.
    outcome = undo_user(iam, UserPolicies(user_name="john", user_id=user["UserId"], path="/"), args)
    assert outcome["Outcome"] == "STOPPED"


def test_a_user_added_to_another_remediation_group_during_the_undo_is_not_reported_restored(
    iam, make_user, observer
):
    make_user("john", [S3_FULL])
    remediate(iam, UserName="john")
    make_user("erin", [READ_ONLY])
    remediate(iam, UserName="erin")
    (other,) = groups_of(iam, "erin")
    done = []

    def add(**_kw):
        if not done:
            done.append(1)
            observer.add_user_to_group(GroupName=other, UserName="john")

    iam.meta.events.register("before-call.iam.AttachUserPolicy", add)
    # Not RESTORED while john is still in a remediation group (the SSM verify step would fail
    # with "still in remediation groups" after the helper said RESTORED).
    with pytest.raises(RemediationStopped, match=f"joined {other} during the undo"):
        restore_user_policies(iam, parse_undo_payload({"UserName": "john"}), sleep=lambda _d: None)
    assert other in groups_of(iam, "john")
