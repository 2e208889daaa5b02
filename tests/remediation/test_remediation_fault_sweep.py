"""Someone else's change injected before each decisive call of a move (``sweep_points``).

Three moves (a plain move, a set split over two groups, managed and inline policies) and
three changes not swept elsewhere: a policy attached to the run's target group, the user
taken out of that group, and a second full run of the same user. (Revocations, a user
replaced under its name and AWS errors are swept in ``test_remediation_concurrent_changes``
and ``test_remediation_invariants``.) After each: the guard saw no loss and no gain, except
in the one-call windows IAM leaves, which are named below; a refusal means this run
changed nothing; and a re-run completes or refuses clearly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from remediation_helpers import (
    CHANGE_PASSWORD,
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    Effective,
    before_call,
    effective_policies,
    recorded_calls,
    remediate,
    sweep_points,
)

from no_direct_policies.move.plan import group_name
from no_direct_policies.move.request import (
    RemediationError,
    RemediationRefused,
    RemediationStopped,
)

PATH = "/config-remediation/"


def _plain(make_user: Callable, arns: list[str], tag: str) -> tuple[dict, list[str]]:
    make_user(f"John{tag}", [S3_FULL, READ_ONLY])
    return {"UserName": f"John{tag}"}, sorted([S3_FULL, READ_ONLY])


def _split(make_user: Callable, arns: list[str], tag: str) -> tuple[dict, list[str]]:
    make_user(f"alice{tag}", arns[:3])
    return {"UserName": f"alice{tag}"}, sorted(arns[:2])


def _inline(make_user: Callable, arns: list[str], tag: str) -> tuple[dict, list[str]]:
    make_user(f"quinn{tag}", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
    return {"UserName": f"quinn{tag}", "MoveInlinePolicies": True}, [S3_FULL]


MOVES = {"move": _plain, "split-move": _split, "inline-move": _inline}
CHANGES = ("extra-policy-on-group", "user-removed-from-group", "concurrent-run")
WRITES = (
    "CreateGroup",
    "AttachGroupPolicy",
    "PutGroupPolicy",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "DetachUserPolicy",
    "DeleteUserPolicy",
    "DeleteGroup",
)


def _outcome(client: Any, payload: dict[str, Any]) -> dict[str, Any] | Exception:
    try:
        return remediate(client, **payload)
    except (RemediationError, ClientError) as error:
        return error


def _windows(calls: list[str]) -> tuple[set[int], set[int]]:
    """The documented windows, as injection indexes of the clean run.

    Join window: after the group reads of the check right before an ``AddUserToGroup``,
    up to that call: a policy attached then reaches the user until the read right after
    the join takes the membership back.
    Removal window: after the ``ListGroupsForUser`` that starts the route check before a
    removal, up to the removal: a route removed then is not seen, and the user loses the
    policy.
    """
    join, removal = set(), set()
    for index, call in enumerate(calls):
        if call == "AddUserToGroup":
            start = max(i for i in range(index) if calls[i] == "ListAttachedGroupPolicies")
            join |= set(range(start + 1, index + 1))
        if call in {"DetachUserPolicy", "DeleteUserPolicy"}:
            start = max(i for i in range(index) if calls[i] == "ListGroupsForUser")
            removal |= set(range(start + 1, index + 1))
    return join, removal


@pytest.fixture
def new_user(make_user, aws_managed_arns, quotas) -> Callable[[str, str], tuple[dict, list]]:
    """Create a scenario's user, tagged: its payload and its target group's managed set."""
    quotas["AttachedPoliciesPerGroupQuota"] = 2
    return lambda scenario, tag: MOVES[scenario](make_user, aws_managed_arns, tag)


@pytest.mark.parametrize("case", [f"{m}/{c}" for m in MOVES for c in CHANGES])
def test_change_before_each_decisive_call(iam, new_user, observer, guard, case):
    scenario, change = case.split("/")
    clean, _ = new_user(scenario, "clean")
    calls = recorded_calls(iam, lambda: remediate(iam, **clean, GroupNamePrefix="C-"))
    join_window, removal_window = _windows(calls)
    guard.only_after = WRITES
    for index in sweep_points(calls):
        payload, target_set = new_user(scenario, str(index))
        payload = {**payload, "GroupNamePrefix": f"M{index}-"}
        user = payload["UserName"]
        inline = MOVES[scenario] is _inline
        target = group_name(
            payload["GroupNamePrefix"],
            target_set,
            [] if not inline else _inline_policies(),
        )
        baseline = guard.watch(user)
        seen: dict[str, Any] = {}

        def inject(
            payload: dict = payload, user: str = user, target: str = target, seen: dict = seen
        ) -> None:
            member = target in _groups(observer, user)
            seen["member"] = member
            if change == "extra-policy-on-group":
                if not _exists(observer, target):
                    observer.create_group(GroupName=target, Path=PATH)
                observer.attach_group_policy(GroupName=target, PolicyArn=CHANGE_PASSWORD)
                if member:  # the administrator's own grant to a member: it stands
                    guard.revoked[user] = Effective(frozenset({CHANGE_PASSWORD}), frozenset())
            elif change == "user-removed-from-group" and member:
                carried = _carried(observer, target)
                direct = effective_direct(observer, user)
                observer.remove_user_from_group(GroupName=target, UserName=user)
                # What the group alone gave the user is revoked by the administrator.
                guard.revoke(
                    user,
                    Effective(carried.managed - direct.managed, carried.inline - direct.inline),
                )
            elif change == "concurrent-run":
                seen["other"] = _outcome(observer, payload)

        with before_call(iam, index, inject):
            outcome = _outcome(iam, payload)
        where = f"{change} before call {index} ({calls[index]}): {outcome}; {guard.violations}"

        allowed = _allowed(change, index, join_window, removal_window)
        for violation in guard.violations:
            assert any(violation.startswith(f"after {c}") for c in WRITES), where
            assert allowed, where
            assert allowed in violation, where
        if isinstance(outcome, RemediationRefused):  # refused: this run changed nothing
            assert _groups(iam, user) == [], where
            assert effective_policies(iam, user) == baseline, where
        assert isinstance(outcome, (dict, RemediationRefused, RemediationStopped)), where
        if change == "concurrent-run":
            other = seen["other"]
            assert isinstance(other, (dict, RemediationRefused)), where
            assert effective_policies(iam, user) == baseline, where
        rerun = _outcome(iam, payload)
        assert isinstance(rerun, (dict, RemediationRefused)), f"{where}; re-run: {rerun}"
        guard.violations.clear()
        guard.revoked.pop(user, None)
        del guard.baselines[user]


def _allowed(change: str, index: int, join: set[int], removal: set[int]) -> str:
    """The violation a documented window permits at this injection index ("" if none)."""
    if change == "extra-policy-on-group" and index in join:
        return f"gained ['{CHANGE_PASSWORD}']"
    if change == "user-removed-from-group" and index in removal:
        return "lost"
    return ""


def _inline_policies() -> list[Any]:
    from no_direct_policies.move.plan import InlinePolicy

    return [InlinePolicy.from_document("list-buckets", LIST_BUCKETS)]


def _groups(iam: Any, user: str) -> list[str]:
    return [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]]


def _exists(iam: Any, group: str) -> bool:
    try:
        iam.get_group(GroupName=group)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def _carried(iam: Any, group: str) -> Effective:
    from remediation_helpers import canonical_document

    managed = {
        p["PolicyArn"]
        for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    }
    inline = {
        canonical_document(iam.get_group_policy(GroupName=group, PolicyName=n)["PolicyDocument"])
        for n in iam.list_group_policies(GroupName=group)["PolicyNames"]
    }
    return Effective(frozenset(managed), frozenset(inline))


def effective_direct(iam: Any, user: str) -> Effective:
    from remediation_helpers import canonical_document

    managed = {
        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    }
    inline = {
        canonical_document(iam.get_user_policy(UserName=user, PolicyName=n)["PolicyDocument"])
        for n in iam.list_user_policies(UserName=user)["PolicyNames"]
    }
    return Effective(frozenset(managed), frozenset(inline))
