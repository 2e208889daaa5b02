"""Many users planned against one read of the account (``remediate --apply``).

The snapshot (``move.account_snapshot``) is stale by design: between the account's read
and a user's turn anyone may revoke or add a policy, rename or delete the user, or change
a group an earlier user's move created. Each case makes such a change after the read and
checks that the user's turn reads what its writes rely on, as a single remediation does:
nothing is lost or granted, a refusal changes nothing, and the calls per user are the
write-time bound's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from remediation_helpers import (
    READ_ONLY,
    S3_FULL,
    Effective,
    before_call,
    effective_policies,
    recorded_calls,
    sweep_points,
)

from no_direct_policies.cli import audit, remediate
from no_direct_policies.compliance import UserPolicies
from no_direct_policies.move.account_snapshot import AccountSnapshot
from no_direct_policies.move.plan import group_name

CHANGE_PASSWORD = "arn:aws:iam::aws:policy/IAMUserChangePassword"
PATH = "/config-remediation/"


class Bulk:
    """The account read once, then users remediated in turn as ``remediate --apply`` does."""

    def __init__(self, iam: Any, prefix: str = "MovedPolicies-") -> None:
        self.iam = iam
        self.options = {"GroupNamePrefix": prefix}
        details = audit.AccountDetails()
        self.users = {
            detail["UserName"]: UserPolicies.from_authorization_details(detail)
            for detail in audit.iter_user_details(iam, keep=details)
        }
        self.snapshot: AccountSnapshot = remediate.account_snapshot(iam, details)

    def apply(self, name: str) -> dict[str, Any]:
        return remediate.remediate_user(
            self.iam,
            self.users[name],
            apply=True,
            helper_options=self.options,
            snapshot=self.snapshot,
        )


def _calls(iam: Any, run: Callable[[], Any]) -> Counter[str]:
    return Counter(recorded_calls(iam, run))


def test_users_with_one_set_share_one_group_and_each_costs_the_write_time_bound(iam, make_user):
    for name in ("ann", "bob", "cat"):
        make_user(name, [S3_FULL, READ_ONLY])
    bulk = Bulk(iam)  # one GetAccountAuthorizationDetails

    first = _calls(iam, lambda: bulk.apply("ann"))
    second = _calls(iam, lambda: bulk.apply("bob"))
    third = _calls(iam, lambda: bulk.apply("cat"))

    group = group_name("MovedPolicies-", [S3_FULL, READ_ONLY], [])
    members = sorted(u["UserName"] for u in iam.get_group(GroupName=group)["Users"])
    assert members == ["ann", "bob", "cat"]
    for name in members:
        assert effective_policies(iam, name).managed == {S3_FULL, READ_ONLY}
        assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == []
    # The first user asks for the quotas and creates the group; the others read neither.
    assert first["GetAccountSummary"] == 1
    assert first["CreateGroup"] == 2  # the group and the run lock
    assert second == third
    # k = 2, one group: 4k + 13 = 21 requests, of which k + 3 = 5 writes.
    assert sum(second.values()) == 21
    assert second == Counter(
        {
            "CreateGroup": 1,  # the lock
            "ListAttachedUserPolicies": 2,  # under the lock; before the first removal
            "GetUser": 3,  # under the lock; before the first and the second removal
            "ListAttachedGroupPolicies": 4,  # before and after the join; two route checks
            "ListGroupPolicies": 2,  # before and after the join
            "AddUserToGroup": 1,
            "GetGroup": 2,  # the lock before the first removal; the lock's release
            "ListGroupsForUser": 3,  # under the lock; the route checks of the two removals
            "DetachUserPolicy": 2,
            "DeleteGroup": 1,  # the lock
        }
    )


def test_a_policy_revoked_after_the_read_is_not_granted_back(iam, make_user, observer, guard):
    make_user("ann", [S3_FULL, READ_ONLY])
    bulk = Bulk(iam)
    observer.detach_user_policy(UserName="ann", PolicyArn=READ_ONLY)  # after the read
    guard.watch("ann")

    result = bulk.apply("ann")

    assert result["Status"] == "MOVED"
    assert result["MovedPolicyArns"] == [S3_FULL]  # re-planned under the lock
    assert effective_policies(iam, "ann").managed == {S3_FULL}
    assert guard.violations == []


def test_a_policy_added_after_the_read_is_moved_too(iam, make_user, observer, guard):
    make_user("ann", [S3_FULL])
    bulk = Bulk(iam)
    observer.attach_user_policy(UserName="ann", PolicyArn=READ_ONLY)
    guard.watch("ann")

    result = bulk.apply("ann")

    assert result["MovedPolicyArns"] == sorted([S3_FULL, READ_ONLY])
    assert iam.list_attached_user_policies(UserName="ann")["AttachedPolicies"] == []
    assert guard.violations == []


@pytest.mark.parametrize("change", ["renamed", "deleted", "replaced"])
def test_a_user_renamed_or_deleted_after_the_read_is_refused_and_nothing_changes(
    iam, make_user, observer, change
):
    make_user("ann", [S3_FULL])
    bulk = Bulk(iam)
    if change == "renamed":
        observer.update_user(UserName="ann", NewUserName="anne")
    else:
        observer.detach_user_policy(UserName="ann", PolicyArn=S3_FULL)
        observer.delete_user(UserName="ann")
        if change == "replaced":
            observer.create_user(UserName="ann")
            observer.attach_user_policy(UserName="ann", PolicyArn=S3_FULL)
    groups_before = iam.list_groups()["Groups"]

    result = bulk.apply("ann")

    assert result["Outcome"] == "REFUSED", result
    assert "Nothing was changed" in result["Error"]
    assert iam.list_groups()["Groups"] == groups_before  # not even the run lock is left


def test_a_group_changed_after_an_earlier_user_joined_it_is_not_joined(
    iam, make_user, observer, guard
):
    make_user("ann", [S3_FULL])
    make_user("bob", [S3_FULL])
    bulk = Bulk(iam)
    assert bulk.apply("ann")["Status"] == "MOVED"
    group = group_name("MovedPolicies-", [S3_FULL], [])
    observer.attach_group_policy(GroupName=group, PolicyArn=CHANGE_PASSWORD)  # someone else
    guard.watch("bob")

    result = bulk.apply("bob")

    assert result["Outcome"] == "REFUSED", result
    assert "bob was not added" in result["Error"]
    assert effective_policies(iam, "bob").managed == {S3_FULL}
    assert guard.violations == []


def test_a_group_deleted_after_the_read_is_created_again_for_the_next_user(
    iam, make_user, make_group, observer
):
    group = group_name("MovedPolicies-", [S3_FULL], [])
    make_group(group, [S3_FULL], path=PATH)  # an earlier run's group, in the snapshot
    make_user("ann", [S3_FULL])
    make_user("bob", [S3_FULL])
    bulk = Bulk(iam)
    observer.detach_group_policy(GroupName=group, PolicyArn=S3_FULL)
    observer.delete_group(GroupName=group)

    first = bulk.apply("ann")
    second = bulk.apply("bob")

    assert first["Outcome"] == "REFUSED"
    assert f"Group {group} was deleted before ann was added" in first["Error"]
    assert effective_policies(iam, "ann").managed == {S3_FULL}
    assert second["Status"] == "MOVED"  # the group is read again, then created
    assert effective_policies(iam, "bob").managed == {S3_FULL}
    assert iam.list_attached_user_policies(UserName="bob")["AttachedPolicies"] == []


def test_a_group_of_the_planned_name_that_carries_more_is_refused_from_the_read(
    iam, make_user, make_group
):
    group = group_name("MovedPolicies-", [S3_FULL], [])
    make_group(group, [S3_FULL, READ_ONLY], path=PATH)
    make_user("ann", [S3_FULL])
    bulk = Bulk(iam)

    calls = recorded_calls(iam, lambda: bulk.apply("ann"))
    result = bulk.apply("ann")

    assert result["Outcome"] == "REFUSED"
    assert "other managed policies attached" in result["Error"]
    assert all(call.startswith(("Get", "List")) for call in calls), calls  # no lock either
    assert effective_policies(iam, "ann").managed == {S3_FULL}


def test_the_groups_quota_counts_the_groups_this_run_created(iam, make_user, quotas):
    make_user("ann", [S3_FULL])
    make_user("bob", [READ_ONLY])
    groups = len(iam.list_groups()["Groups"])
    quotas["GroupsQuota"] = groups + 2  # room for one group and one run lock
    bulk = Bulk(iam)

    assert bulk.apply("ann")["Status"] == "MOVED"
    second = bulk.apply("bob")

    assert second["Outcome"] == "REFUSED"
    assert "GroupsQuota" in second["Error"]
    assert effective_policies(iam, "bob").managed == {READ_ONLY}


def test_a_revocation_before_any_call_of_a_later_user_stands(iam, make_user, observer, guard):
    """The second user's READ_ONLY is revoked before each call of its turn in turn."""
    make_user("Cann", [S3_FULL, READ_ONLY])
    make_user("Cbob", [S3_FULL, READ_ONLY])
    clean = Bulk(iam, prefix="C-")
    clean.apply("Cann")
    calls = recorded_calls(iam, lambda: clean.apply("Cbob"))
    # The residual window of plan.py: revoked after the direct read before the first removal,
    # READ_ONLY cannot be taken back once S3 (same group) is off the user.
    first_detach = calls.index("DetachUserPolicy")
    read = max(i for i in range(first_detach) if calls[i] == "ListAttachedUserPolicies")
    guard.only_after = ("AddUserToGroup", "RemoveUserFromGroup", "DetachUserPolicy")
    last_detach = len(calls) - 1 - calls[::-1].index("DetachUserPolicy")
    for index in [i for i in sweep_points(calls) if i <= last_detach]:  # READ_ONLY still on
        ann, bob = f"A{index}", f"B{index}"
        make_user(ann, [S3_FULL, READ_ONLY])
        make_user(bob, [S3_FULL, READ_ONLY])
        bulk = Bulk(iam, prefix=f"M{index}-")
        assert bulk.apply(ann)["Status"] == "MOVED"
        guard.watch(bob)

        def revoke(bob: str = bob) -> None:
            observer.detach_user_policy(UserName=bob, PolicyArn=READ_ONLY)
            guard.revoke(bob, Effective(frozenset({READ_ONLY}), frozenset()))

        with before_call(iam, index, revoke):
            outcome = bulk.apply(bob)
        where = f"revoked before call {index} ({calls[index]}): {outcome}"
        lost = [v for v in guard.violations if "lost" in v]
        if index > read:  # leaving the group would lose S3: the stop says so
            assert outcome["Outcome"] == "STOPPED", where
            assert f"{READ_ONLY} still reaches {bob} through that group" in outcome["Error"]
        else:
            assert effective_policies(iam, bob).managed == {S3_FULL}, where  # it stands
        assert lost == [], where
        if "Outcome" in outcome:
            assert outcome["Outcome"] in ("REFUSED", "STOPPED"), where
        guard.violations.clear()
        guard.revoked.pop(bob, None)
        del guard.baselines[bob]
