"""Safety invariants proven call by call: nothing lost at any moment, nothing gained, faults.

The ``guard`` fixture reads the user's effective policies after every single
IAM call of the helper's client; ``fail_call`` makes one chosen call fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from remediation_helpers import (
    LIST_BUCKETS,
    READ_ONLY,
    REMOVALS,
    S3_FULL,
    effective_policies,
    recorded_calls,
    remediate,
    request_for,
    sweep_points,
)

from no_direct_policies.move.iam_reads import read_group, read_quotas, read_user
from no_direct_policies.move.plan import plan_move
from no_direct_policies.move.request import (
    RemediationStopped,
    perform_action,
    required_group_specs,
)


def _seed(make_user: Callable, arns: list[str], tag: str) -> dict[str, Any]:
    make_user(f"John{tag}", [S3_FULL])
    return {"UserName": f"John{tag}"}


def _split(make_user: Callable, arns: list[str], tag: str) -> dict[str, Any]:
    # Three policies with AttachedPoliciesPerGroupQuota shrunk to 2: two groups.
    make_user(f"alice{tag}", arns[:3])
    return {"UserName": f"alice{tag}"}


def _inline(make_user: Callable, arns: list[str], tag: str) -> dict[str, Any]:
    make_user(f"quinn{tag}", [S3_FULL, READ_ONLY], inline={"list-buckets": LIST_BUCKETS})
    return {"UserName": f"quinn{tag}", "MoveInlinePolicies": True}


SCENARIOS = {"seed": _seed, "split-in-two-groups": _split, "inline": _inline}


@pytest.fixture
def setup_scenario(make_user, aws_managed_arns, quotas) -> Callable[[str, str], dict[str, Any]]:
    """Create a scenario's user (names tagged, groups under their own prefix); its payload."""
    quotas["AttachedPoliciesPerGroupQuota"] = 2

    def setup(scenario: str, tag: str) -> dict[str, Any]:
        payload = SCENARIOS[scenario](make_user, aws_managed_arns, tag)
        return {**payload, "GroupNamePrefix": f"Moved{tag}-"}

    return setup


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_clean_run_never_loses_a_policy_at_any_call(iam, setup_scenario, guard, scenario):
    payload = setup_scenario(scenario, "")
    baseline = guard.watch(payload["UserName"])

    calls = recorded_calls(iam, lambda: remediate(iam, **payload))

    assert guard.violations == []
    assert guard.checks == len(calls)
    assert effective_policies(iam, payload["UserName"]) == baseline  # nothing gained
    assert iam.list_attached_user_policies(UserName=payload["UserName"])["AttachedPolicies"] == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_failure_of_any_single_call_loses_nothing_gains_nothing_and_a_rerun_completes(
    iam, setup_scenario, fail_call, scenario
):
    # The guard already checks every call of these scenarios' clean runs (above); here
    # the state left by each failure is checked, and the re-run is a clean run from it.
    # Each failing call gets its own user and group prefix, so the runs do not meet.
    clean = setup_scenario(scenario, "clean")
    calls = recorded_calls(iam, lambda: remediate(iam, **clean))
    last_removal = max(i for i, name in enumerate(calls) if name in REMOVALS)
    for failing_call in sweep_points(calls):
        payload = setup_scenario(scenario, str(failing_call))
        user = payload["UserName"]
        baseline = effective_policies(iam, user)
        fail_call(failing_call)

        if failing_call > last_removal:  # releasing the run lock: retried, so it completes
            assert remediate(iam, **payload)["Status"] == "MOVED"
            fail_call(-1)
            assert iam.list_groups_for_user(UserName=user)["Groups"]
            assert remediate(iam, **payload)["Status"] == "NOTHING_TO_MOVE"
            continue
        # An AWS error after a first change is a stop that names it and what was changed.
        with pytest.raises((ClientError, RemediationStopped), match="injected") as raised:
            remediate(iam, **payload)
        if isinstance(raised.value, RemediationStopped):
            assert f"AWS error ServiceFailure on {calls[failing_call]}" in str(raised.value)

        assert effective_policies(iam, user) == baseline, calls[failing_call]
        fail_call(-1)
        assert remediate(iam, **payload)["Status"] == "MOVED"
        assert effective_policies(iam, user) == baseline
        assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
        assert remediate(iam, **payload)["Status"] == "NOTHING_TO_MOVE"


def test_a_plan_that_detaches_before_adding_is_caught_by_the_same_guard(iam, make_user, guard):
    make_user("John", [S3_FULL])
    guard.watch("John")
    request = request_for(UserName="John")
    user = read_user(iam, "John", "unused", with_inline=False)
    quotas = read_quotas(iam)
    specs = {s.name: s for s in required_group_specs(user, request.options, quotas)}
    plan = plan_move(user, request.options, quotas, {n: read_group(iam, n) for n in specs})

    for action in [*plan.removal_actions, *plan.setup_actions]:  # the unsafe order
        perform_action(iam, action, specs)

    lost = f"John lost ['{S3_FULL}']"
    assert guard.violations == [
        f"after {name}: {lost}" for name in ("DetachUserPolicy", "CreateGroup", "AttachGroupPolicy")
    ]


def test_other_members_of_a_reused_group_gain_nothing_at_any_moment(iam, make_user, guard):
    make_user("David", [S3_FULL])
    make_user("John", [S3_FULL])
    remediate(iam, UserName="David")
    guard.watch("David")
    guard.watch("John")

    result = remediate(iam, UserName="John")

    assert result["Actions"][0]["Action"] == "AddUserToGroup"  # the group was reused
    assert guard.violations == []
    assert guard.checks > 0


def test_reusing_a_group_that_carries_more_would_be_caught_by_the_guard(
    iam, make_user, make_group, guard
):
    # What the exact-match rule prevents: adding John to a group with a superset.
    make_group("Storage", [S3_FULL, READ_ONLY])
    make_user("John", [S3_FULL])
    guard.watch("John")

    iam.add_user_to_group(GroupName="Storage", UserName="John")

    assert guard.violations == [f"after AddUserToGroup: John gained ['{READ_ONLY}']"]
