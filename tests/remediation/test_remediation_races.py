"""Concurrency and failure scenarios: racing runs, a user deleted mid-way, slow IAM, throttling."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from remediation_helpers import (
    READ_ONLY,
    S3_FULL,
    delete_user,
    effective_policies,
    once_before,
    remediate,
)

from no_direct_policies.move import request as move_request
from no_direct_policies.move.plan import group_name
from no_direct_policies.move.request import (
    RemediationError,
    RemediationRefused,
    RemediationStopped,
    move_user_policies,
    parse_payload,
)

GROUP = group_name("MovedPolicies-", [S3_FULL], [])


def _members(iam: Any, group: str) -> list[str]:
    return sorted(user["UserName"] for user in iam.get_group(GroupName=group)["Users"])


def test_two_remediations_racing_for_the_same_group_end_in_one_shared_group(
    iam, make_user, observer, guard
):
    make_user("John", [S3_FULL])
    make_user("David", [S3_FULL])
    guard.watch("John")
    guard.watch("David")
    once_before(iam, "CreateGroup", lambda: remediate(observer, UserName="David"))

    result = remediate(iam, UserName="John")

    assert result["Status"] == "MOVED"
    assert guard.violations == []
    assert [g["GroupName"] for g in iam.list_groups()["Groups"]] == [GROUP]
    assert _members(iam, GROUP) == ["David", "John"]
    assert effective_policies(iam, "John").managed == {S3_FULL}


def test_racing_run_finds_the_group_half_built_and_completes_it(iam, make_user, observer):
    make_user("John", [S3_FULL])
    once_before(
        iam,
        "CreateGroup",
        lambda: observer.create_group(GroupName=GROUP, Path="/config-remediation/"),
    )

    result = remediate(iam, UserName="John")

    assert result["Status"] == "MOVED"
    assert _members(iam, GROUP) == ["John"]
    assert [
        p["PolicyArn"]
        for p in iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    ] == [S3_FULL]


def test_group_created_concurrently_with_other_policies_is_refused_and_nothing_is_lost(
    iam, make_user, observer
):
    make_user("John", [S3_FULL])

    def competitor() -> None:
        observer.create_group(GroupName=GROUP, Path="/config-remediation/")
        observer.attach_group_policy(GroupName=GROUP, PolicyArn=READ_ONLY)

    once_before(iam, "CreateGroup", competitor)
    before = effective_policies(iam, "John")

    with pytest.raises(RemediationError, match=f"Group {GROUP} exists but cannot be used"):
        remediate(iam, UserName="John")

    assert effective_policies(iam, "John") == before
    assert _members(iam, GROUP) == []


def test_conflicting_group_met_after_a_first_group_was_built_is_a_stop_not_a_refusal(
    iam, make_user, observer, quotas, aws_managed_arns
):
    # Split over two groups: the first is built, then the second name is taken by a group
    # carrying something else. IAM was changed, so this is no refusal.
    quotas["AttachedPoliciesPerGroupQuota"] = 2
    arns = aws_managed_arns[:3]
    make_user("alice", arns)
    first = group_name("MovedPolicies-", arns[:2], [])
    second = group_name("MovedPolicies-", arns[2:], [])

    def competitor() -> None:
        observer.create_group(GroupName=second, Path="/config-remediation/")
        observer.attach_group_policy(GroupName=second, PolicyArn=READ_ONLY)

    creates = iter([None, None, competitor])  # the run lock, the first group, the second
    iam.meta.events.register(
        "before-call.iam.CreateGroup", lambda **_: (next(creates) or (lambda: None))()
    )
    before = effective_policies(iam, "alice")

    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="alice")

    assert str(stopped.value).startswith(
        f"Stopped part-way: Group {second} exists but cannot be used"
    )
    assert str(stopped.value).endswith(
        f"Groups created and left in place: {first}. A group without members grants nobody "
        "anything; a later run for a user with the same policies reuses it; delete it if no "
        "one needs it."
    )
    assert effective_policies(iam, "alice") == before
    assert iam.list_groups_for_user(UserName="alice")["Groups"] == []


def test_user_deleted_mid_way_leaves_its_group_in_place_without_members(iam, make_user, observer):
    john = make_user("John", [S3_FULL])
    once_before(iam, "AddUserToGroup", lambda: delete_user(observer, "John"))

    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    assert str(stopped.value) == (
        f"Stopped part-way: IAM user John ({john['UserId']}) was deleted during the "
        f"remediation. Nothing is left to remediate for {john['UserId']}. Groups created and "
        f"left in place: {GROUP}. A group without members grants nobody anything; a later run "
        "for a user with the same policies reuses it; delete it if no one needs it."
    )
    assert _members(iam, GROUP) == []
    assert [
        p["PolicyArn"]
        for p in iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    ] == [S3_FULL]


def test_group_left_by_a_deleted_user_is_reused_by_the_next_user_with_the_same_policy(
    iam, make_user, observer, guard
):
    make_user("John", [S3_FULL])
    make_user("David", [S3_FULL])
    once_before(iam, "AddUserToGroup", lambda: delete_user(observer, "John"))
    with pytest.raises(RemediationStopped):
        remediate(iam, UserName="John")
    guard.watch("David")

    result = remediate(iam, UserName="David")

    assert result["Actions"][0] == {
        "Action": "AddUserToGroup",
        "GroupName": GROUP,
        "UserName": "David",
    }
    assert guard.violations == []
    assert _members(iam, GROUP) == ["David"]


def test_user_deleted_mid_way_leaves_a_group_shared_with_others_unchanged(iam, make_user, observer):
    make_user("David", [S3_FULL])
    make_user("John", [S3_FULL])
    remediate(iam, UserName="David")
    once_before(iam, "AddUserToGroup", lambda: delete_user(observer, "John"))

    with pytest.raises(
        RemediationRefused, match=r"^Refused: IAM user John .* was deleted during the remediation"
    ):
        remediate(iam, UserName="John")

    assert _members(iam, GROUP) == ["David"]
    assert effective_policies(iam, "David").managed == {S3_FULL}


def _stale_group_reads(iam: Any, stale_reads: int) -> None:
    """Make IAM look eventually consistent: the first reads after the start miss new groups."""
    seen = {"calls": 0}

    def hide(parsed: dict, **_kwargs: Any) -> None:
        seen["calls"] += 1
        # Calls 1 and 2 are the reads of the user before and under the run lock.
        if 2 < seen["calls"] <= 2 + stale_reads:
            parsed["Groups"] = []

    iam.meta.events.register("after-call.iam.ListGroupsForUser", hide)


def test_read_back_is_retried_while_iam_is_not_yet_consistent(iam, make_user):
    make_user("John", [S3_FULL])
    _stale_group_reads(iam, 2)
    delays: list[float] = []

    result = move_user_policies(iam, parse_payload({"UserName": "John"}), sleep=delays.append)

    assert result["Status"] == "MOVED"
    assert delays == [0.5, 1.0]


def test_read_back_that_never_confirms_keeps_the_policies_on_the_user(iam, make_user):
    make_user("John", [S3_FULL])
    _stale_group_reads(iam, 100)
    delays: list[float] = []

    with pytest.raises(
        RemediationStopped,
        match=r"^Stopped part-way: the read-back after adding John .* nothing was lost",
    ):
        move_user_policies(iam, parse_payload({"UserName": "John"}), sleep=delays.append)

    assert delays == [0.5, 1.0, 2.0, 4.0]
    assert [
        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="John")["AttachedPolicies"]
    ] == [S3_FULL]


_THROTTLED = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
    b"<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"
)


class _Body:
    def stream(self, **_kwargs: Any):
        yield _THROTTLED


@pytest.fixture
def backoff(monkeypatch) -> list[float]:
    """The backoff delays botocore's retry handler asks for (not slept, recorded)."""
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append))
    return delays


def _throttle(client: Any, operation: str, times: int) -> list[int]:
    """Answer the first ``times`` attempts of ``operation`` with HTTP 400 Throttling."""
    attempts: list[int] = []

    def answer(request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        if not event_name.endswith(f".{operation}"):
            return None
        attempts.append(1)
        if len(attempts) <= times:
            return AWSResponse(request.url, 400, {}, _Body())
        return None

    client.meta.events.register_first("before-send", answer)
    return attempts


def test_handler_retries_throttling_with_backoff_and_completes(
    iam, make_user, monkeypatch, backoff
):
    make_user("John", [S3_FULL])
    attempts: list[list[int]] = []

    def throttled_client() -> Any:
        client = original()
        attempts.append(_throttle(client, "GetAccountSummary", 3))
        return client

    original = move_request.new_iam_client
    monkeypatch.setattr(move_request, "new_iam_client", throttled_client)

    result = move_request.lambda_handler({"UserName": "John"}, None)

    assert result["Status"] == "MOVED"
    assert len(attempts[0]) == 4
    assert len(backoff) == 3


@pytest.mark.usefixtures("backoff")
def test_throttling_beyond_the_retry_budget_surfaces_before_any_change(iam, make_user):
    make_user("John", [S3_FULL])
    client = move_request.new_iam_client()
    attempts = _throttle(client, "GetAccountSummary", 1000)
    before = effective_policies(iam, "John")

    with pytest.raises(ClientError, match="Throttling"):
        remediate(client, UserName="John")

    assert len(attempts) == 10
    assert iam.list_groups()["Groups"] == []
    assert effective_policies(iam, "John") == before
