"""Changes others make during a run stand: a revocation, a user replaced under its name, a joiner.

Each loop test records a clean run first and then injects the change before
every single IAM call of that run in turn (``before_call``); each injection
gets its own users and group prefix, so the runs do not meet. The ``guard``
checks after every call that no watched user loses a policy it still has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from remediation_helpers import (
    LIST_BUCKETS,
    READ_ONLY,
    REMOVALS,
    S3_FULL,
    Effective,
    before_call,
    canonical_document,
    delete_user,
    effective_policies,
    is_write,
    once_before,
    recorded_calls,
    remediate,
    sweep_points,
)

from no_direct_policies.move.plan import group_name
from no_direct_policies.move.request import RemediationError, RemediationRefused, RemediationStopped


@dataclass(frozen=True)
class Move:
    """A user to move, and how to revoke one of the policies being moved."""

    payload: dict[str, Any]
    revoke: Callable[[Any], None]  # (client) -> None: detach or delete one moved policy
    revoked_name: str  # how stop messages name it
    revoked: Effective  # what the revocation takes from the user
    read_by: tuple[str, ...] = ("ListAttachedUserPolicies",)  # the reads that would see it

    @property
    def user(self) -> str:
        return self.payload["UserName"]


def _plain(make_user: Callable, arns: list[str], tag: str) -> Move:
    make_user(f"John{tag}", [S3_FULL, READ_ONLY])
    return Move(
        {"UserName": f"John{tag}"},
        lambda iam: iam.detach_user_policy(UserName=f"John{tag}", PolicyArn=READ_ONLY),
        READ_ONLY,
        Effective(frozenset({READ_ONLY}), frozenset()),
    )


def _split(make_user: Callable, arns: list[str], tag: str) -> Move:
    # Three policies with AttachedPoliciesPerGroupQuota shrunk to 2: two groups.
    make_user(f"alice{tag}", arns[:3])
    return Move(
        {"UserName": f"alice{tag}"},
        lambda iam: iam.detach_user_policy(UserName=f"alice{tag}", PolicyArn=arns[0]),
        arns[0],
        Effective(frozenset({arns[0]}), frozenset()),
    )


def _inline(make_user: Callable, arns: list[str], tag: str) -> Move:
    make_user(f"quinn{tag}", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
    return Move(
        {"UserName": f"quinn{tag}", "MoveInlinePolicies": True},
        lambda iam: iam.delete_user_policy(UserName=f"quinn{tag}", PolicyName="list-buckets"),
        "inline policy list-buckets",
        Effective(frozenset(), frozenset({canonical_document(LIST_BUCKETS)})),
        ("ListUserPolicies", "GetUserPolicy"),
    )


MOVES = {"move": _plain, "split-move": _split, "inline-move": _inline}


@pytest.fixture
def new_move(make_user, aws_managed_arns, quotas) -> Callable[[str, str], Move]:
    """Create a scenario's user, tagged, with its own group prefix."""
    quotas["AttachedPoliciesPerGroupQuota"] = 2

    def make(scenario: str, tag: str) -> Move:
        move = MOVES[scenario](make_user, aws_managed_arns, tag)
        return replace(move, payload={**move.payload, "GroupNamePrefix": f"Moved{tag}-"})

    return make


def _outcome(iam: Any, payload: dict[str, Any]) -> dict[str, Any] | RemediationError:
    try:
        return remediate(iam, **payload)
    except RemediationError as error:
        return error


def _clean_calls(iam: Any, new_move: Callable[[str, str], Move], scenario: str) -> list[str]:
    move = new_move(scenario, "clean")
    return recorded_calls(iam, lambda: remediate(iam, **move.payload))


def test_policy_revoked_after_the_read_and_before_add_user_to_group_stays_revoked(
    iam, make_user, observer, guard
):
    # The case: the group is built with both policies, then one is revoked.
    make_user("John", [S3_FULL, READ_ONLY])
    guard.watch("John")
    group = group_name("MovedPolicies-", [S3_FULL, READ_ONLY], [])

    def revoke() -> None:
        observer.detach_user_policy(UserName="John", PolicyArn=READ_ONLY)
        guard.revoke("John", Effective(frozenset({READ_ONLY}), frozenset()))

    once_before(iam, "AddUserToGroup", revoke)

    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    assert str(stopped.value) == (
        f"Stopped part-way: {READ_ONLY} left IAM user John during the remediation: someone "
        "revoked it (or changed its inline document), and the change stands - unless this "
        "run's lock was taken over after 15 minutes by another run of this remediation, which "
        f"then moved it. Removed John from {group}, which carries it. Run the remediation "
        f"again to move what remains on John. Groups created and left in place: {group}. A "
        "group without members grants nobody anything; a later run for a user with the same "
        "policies reuses it; delete it if no one needs it."
    )
    assert effective_policies(iam, "John") == Effective(frozenset({S3_FULL}), frozenset())
    assert iam.list_groups_for_user(UserName="John")["Groups"] == []
    assert guard.violations == []
    assert remediate(iam, UserName="John")["MovedPolicyArns"] == [S3_FULL]


@pytest.mark.parametrize("scenario", MOVES)
def test_revocation_before_any_call_of_a_move_stands(iam, new_move, observer, guard, scenario):
    calls = _clean_calls(iam, new_move, scenario)
    first_removal = min(i for i, name in enumerate(calls) if name in REMOVALS)
    guard.only_after = REMOVALS
    outcomes = set()
    for index in sweep_points(calls):
        move = new_move(scenario, str(index))
        # The residual window opens after the last read that would see the revocation
        # before the first removal.
        last_read = max(i for i in range(first_removal) if calls[i] in move.read_by)
        baseline = guard.watch(move.user)
        revoked: list[bool] = []

        def revoke(move: Move = move, revoked: list[bool] = revoked) -> None:
            try:
                move.revoke(observer)
            except observer.exceptions.NoSuchEntityException:
                return  # the run had moved it already: the administrator's call fails
            revoked.append(True)
            guard.revoke(move.user, move.revoked)

        with before_call(iam, index, revoke):
            outcome = _outcome(iam, move.payload)
        final = effective_policies(iam, move.user)
        where = f"revoked before call {index} ({calls[index]}): {outcome}"

        assert guard.violations == [], where
        if not revoked:
            assert final == baseline, where
            assert outcome["Status"] == "MOVED", where
            outcomes.add("already moved: revocation refused by IAM")
        elif isinstance(outcome, RemediationStopped) and "still reaches" in str(outcome):
            # The residual window, documented: revoked after other policies were detached.
            assert index > last_read, where
            assert final == baseline, where
            outcomes.add("residual: reported as still reaching the user")
        else:
            expected = Effective(
                baseline.managed - move.revoked.managed, baseline.inline - move.revoked.inline
            )
            assert final == expected, where
            if isinstance(outcome, dict):
                assert outcome["Status"] == "MOVED", where
                assert move.revoked_name not in str(outcome["Actions"]), where
                outcomes.add("revoked before the read: moved without it")
            else:
                assert isinstance(outcome, (RemediationRefused, RemediationStopped)), where
                assert f"{move.revoked_name} left IAM user {move.user}" in str(outcome), where
                outcomes.add(type(outcome).__name__)
        del guard.baselines[move.user]
    assert {"RemediationStopped", "revoked before the read: moved without it"} <= outcomes


def _replace_user(iam: Any, name: str) -> str:
    """Delete the user (as IAM requires) and create a new one, with nothing, under its name."""
    delete_user(iam, name)
    return iam.create_user(UserName=name)["User"]["UserId"]


def test_new_user_added_to_the_group_under_the_old_name_is_removed_again(iam, make_user, observer):
    john = make_user("John", [S3_FULL])
    group = group_name("MovedPolicies-", [S3_FULL], [])
    new_ids: list[str] = []
    once_before(iam, "AddUserToGroup", lambda: new_ids.append(_replace_user(observer, "John")))

    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    assert str(stopped.value).startswith(
        f"Stopped part-way: IAM user John ({john['UserId']}) was deleted during the "
        f"remediation. The name John now belongs to another user ({new_ids[0]}), which this "
        f"run granted nothing. Removed John from {group} again."
    )
    assert iam.list_groups_for_user(UserName="John")["Groups"] == []
    assert effective_policies(iam, "John") == Effective(frozenset(), frozenset())


@pytest.mark.parametrize("scenario", MOVES)
def test_user_replaced_under_its_name_before_any_call_grants_the_new_user_nothing(
    iam, new_move, observer, scenario
):
    calls = _clean_calls(iam, new_move, scenario)
    last_removal = max(i for i, name in enumerate(calls) if name in REMOVALS)
    for index in sweep_points(calls):
        move = new_move(scenario, str(index))
        with before_call(iam, index, lambda move=move: _replace_user(observer, move.user)):
            outcome = _outcome(iam, move.payload)
        where = f"replaced before call {index} ({calls[index]}): {outcome}"

        assert iam.list_groups_for_user(UserName=move.user)["Groups"] == [], where
        assert effective_policies(iam, move.user) == Effective(frozenset(), frozenset()), where
        if isinstance(outcome, dict) and index > last_removal:
            assert outcome["Status"] == "MOVED", where  # replaced after the move: releasing
        elif isinstance(outcome, dict):  # the run read the new user: it has nothing to move
            assert outcome["Status"] == "NOTHING_TO_MOVE", where
        else:
            assert f"IAM user {move.user} (" in str(outcome), where


def test_another_user_joining_the_group_while_the_user_is_deleted_never_loses_a_policy(
    iam, make_user, observer, guard
):
    # John is deleted before call `deleted`; a run for David, who has the same policy,
    # joins John's new group and detaches David's own copy before call `joined`.
    def users(tag: str) -> tuple[dict[str, Any], dict[str, Any]]:
        make_user(f"John{tag}", [S3_FULL])
        make_user(f"David{tag}", [S3_FULL])
        prefix = {"GroupNamePrefix": f"Moved{tag}-"}
        return {"UserName": f"John{tag}", **prefix}, {"UserName": f"David{tag}", **prefix}

    clean, _ = users("clean")
    calls = recorded_calls(iam, lambda: remediate(iam, **clean))
    guard.only_after = REMOVALS
    # David's run is one whole run: joining right before one of John's writes is enough.
    points = sweep_points(calls)
    writes = [i for i, name in enumerate(calls) if is_write(name)]
    for deleted in [p for p in points if p > calls.index("CreateGroup")]:
        for joined in [p for p in writes if p >= deleted]:
            tag = f"{deleted}-{joined}"
            john, david = users(tag)
            guard.watch(david["UserName"])

            with (
                before_call(
                    iam, deleted, lambda name=john["UserName"]: delete_user(observer, name)
                ),
                before_call(iam, joined, lambda david=david: remediate(observer, **david)),
            ):
                _outcome(iam, john)

            assert guard.violations == [], tag
            assert effective_policies(iam, david["UserName"]).managed == {S3_FULL}, tag
            del guard.baselines[david["UserName"]]
