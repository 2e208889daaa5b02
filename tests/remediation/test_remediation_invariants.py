"""Safety invariants proven call by call: nothing lost at any moment, nothing gained, faults.

The ``guard`` fixture reads the user's effective policies after every single
IAM call of the helper's client; ``fail_call`` makes one chosen call fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from group_plan import plan_move
from iam_state import read_group, read_quotas, read_user
from move_policies_to_group import perform_action, required_group_specs
from remediation_helpers import (
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    effective_policies,
    remediate,
    request_for,
)


def _seed(make_user: Callable, arns: list[str]) -> dict[str, Any]:
    make_user("John", [S3_FULL])
    return {"UserName": "John"}


def _split(make_user: Callable, arns: list[str]) -> dict[str, Any]:
    # Three policies with AttachedPoliciesPerGroupQuota shrunk to 2: two groups.
    make_user("alice", arns[:3])
    return {"UserName": "alice"}


def _inline(make_user: Callable, arns: list[str]) -> dict[str, Any]:
    make_user("quinn", [S3_FULL, READ_ONLY], inline={"list-buckets": LIST_BUCKETS})
    return {"UserName": "quinn", "MoveInlinePolicies": True}


# Scenario -> (setup, number of IAM calls of a clean run). The counts are checked
# by test_clean_run_makes_exactly_the_counted_calls, so every call gets a fault.
SCENARIOS = {"seed": (_seed, 11), "split-in-two-groups": (_split, 19), "inline": (_inline, 19)}
FAULTS = [(name, index) for name, (_, calls) in SCENARIOS.items() for index in range(calls)]


@pytest.fixture
def setup_scenario(make_user, aws_managed_arns, quotas) -> Callable[[str], dict[str, Any]]:
    """Create a scenario's user; return the helper payload for it."""
    quotas["AttachedPoliciesPerGroupQuota"] = 2
    return lambda scenario: SCENARIOS[scenario][0](make_user, aws_managed_arns)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_clean_run_makes_exactly_the_counted_calls_and_never_loses_a_policy(
    iam, setup_scenario, call_log, guard, scenario
):
    calls = SCENARIOS[scenario][1]
    payload = setup_scenario(scenario)
    baseline = guard.watch(payload["UserName"])
    call_log.calls.clear()

    result = remediate(iam, **payload)

    assert result["Status"] == "MOVED"
    assert len(call_log.names) == calls
    assert guard.violations == []
    assert guard.checks == calls
    assert effective_policies(iam, payload["UserName"]) == baseline  # nothing gained
    assert iam.list_attached_user_policies(UserName=payload["UserName"])["AttachedPolicies"] == []


@pytest.mark.parametrize("fault", FAULTS, ids=[f"{name}-call{index}" for name, index in FAULTS])
def test_failure_of_any_single_call_loses_nothing_gains_nothing_and_a_rerun_completes(
    iam, setup_scenario, fail_call, fault
):
    # The guard already checks every call of these scenarios' clean runs (above); here
    # the state left by each failure is checked, and the re-run is a clean run from it.
    scenario, failing_call = fault
    payload = setup_scenario(scenario)
    user = payload["UserName"]
    baseline = effective_policies(iam, user)
    fail_call(failing_call)

    with pytest.raises(ClientError, match="injected"):
        remediate(iam, **payload)

    assert effective_policies(iam, user) == baseline
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
