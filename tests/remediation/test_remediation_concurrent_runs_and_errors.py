"""Two runs building one group, AWS errors during a take-back, a lost answer to the run
lock's CreateGroup, and a covering group changed since the account's read."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from remediation_helpers import (
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    effective_policies,
    once_before,
    recorded_calls,
    remediate,
)

from no_direct_policies.move.plan import RemediationRefused, RemediationStopped, group_name
from no_direct_policies.move.request import RemediationError
from no_direct_policies.simulation.account import REGION

PATH = "/config-remediation/"
BOTH = group_name("MovedPolicies-", [READ_ONLY, S3_FULL], [])


def _run(iam: Any, **payload: Any) -> Any:
    try:
        return remediate(iam, **payload)
    except (RemediationError, ClientError, EndpointConnectionError, ReadTimeoutError) as error:
        return error


def _locks(client: Any) -> list[str]:
    return [g["GroupName"] for g in client.list_groups()["Groups"] if "-lock-" in g["GroupName"]]


# 1. Two users with the same set remediated at once (Config triggers one automation per
#    user): run A creates the group and attaches the first policy; run B finds the group
#    (EntityAlreadyExists / the partial group), completes it and moves its user. A's
#    members-only check before its next attach sees B's user and stops, telling the
#    operator to take that user out of a complete group B's user now depends on.
def test_concurrent_run_completing_the_group_is_not_reported_as_an_intruder(
    iam, make_user, observer
):
    make_user("alice", [S3_FULL, READ_ONLY])
    make_user("bob", [S3_FULL, READ_ONLY])
    other = boto3.client("iam", region_name=REGION)  # run B's own client
    attaches: list[str] = []

    def hook(model: Any, **_kwargs: Any) -> None:
        # right before A's GetGroup preceding its second AttachGroupPolicy: B runs fully
        if model.name == "AttachGroupPolicy":
            attaches.append("x")
        if model.name == "GetGroup" and len(attaches) == 1:
            attaches.append("b")
            remediate(other, UserName="bob")

    iam.meta.events.register("before-call.iam.*", hook)
    outcome = _run(iam, UserName="alice")
    iam.meta.events.unregister("before-call.iam.*", hook)

    bob = effective_policies(observer, "bob")
    assert bob.managed == {S3_FULL, READ_ONLY}  # bob's policies reach him only via the group
    assert not observer.list_attached_user_policies(UserName="bob")["AttachedPolicies"]
    # A's outcome must not tell the operator to take bob out of the group he depends on.
    assert "Take them out of it" not in str(outcome), outcome
    assert isinstance(outcome, dict), outcome
    assert outcome["Status"] == "MOVED", outcome


def _revoke_before_readback_setup(iam: Any, make_user: Any, observer: Any) -> None:
    """alice (S3, RO) -> new group; READ_ONLY is revoked right after the join, so the run
    must take the membership back (rule 8)."""
    make_user("alice", [S3_FULL, READ_ONLY])

    def revoke(**_kwargs: Any) -> None:
        if not revoked:
            revoked.append(True)
            observer.detach_user_policy(UserName="alice", PolicyArn=READ_ONLY)

    revoked: list[bool] = []
    iam.meta.events.register("after-call.iam.AddUserToGroup", revoke)


# 2. A network error (BotoCoreError) on the take-back's RemoveUserFromGroup: not retried
#    (only ClientError is), and the stop says "nothing was lost or granted" although the
#    revoked policy still reaches the user through the group; no command is given.
def test_network_error_during_a_take_back_is_retried_or_named(iam, make_user, observer):
    _revoke_before_readback_setup(iam, make_user, observer)
    failures: list[int] = []

    def drop(**_kwargs: Any) -> None:
        if len(failures) < 1:  # one transient failure: the ClientError path would retry
            failures.append(1)
            raise EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/")

    iam.meta.events.register("before-call.iam.RemoveUserFromGroup", drop)
    outcome = _run(iam, UserName="alice")
    iam.meta.events.unregister("before-call.iam.RemoveUserFromGroup", drop)

    now = effective_policies(observer, "alice")
    assert isinstance(outcome, RemediationStopped), outcome
    message = str(outcome)
    if READ_ONLY in now.managed:  # the revoked policy still reaches alice via the group
        assert "nothing was lost or granted" not in message, message
        assert "remove-user-from-group" in message, message
    assert READ_ONLY not in now.managed, (message, now)  # a transient error is retried


# 3. Any AWS error during a take-back (here a ClientError on the lock check the take-back
#    makes first) is reported with the generic "nothing was lost or granted" although the
#    revoked policy still reaches the user; the membership and command are not named.
def test_aws_error_on_the_take_backs_lock_check_names_the_grant(iam, make_user, observer):
    _revoke_before_readback_setup(iam, make_user, observer)
    state = {"armed": False, "done": False}

    def arm(**_kwargs: Any) -> None:
        state["armed"] = True

    def fail(model: Any, **_kwargs: Any) -> None:
        if state["armed"] and not state["done"] and model.name == "GetGroup":
            state["done"] = True
            raise ClientError({"Error": {"Code": "ServiceFailure", "Message": "x"}}, "GetGroup")

    iam.meta.events.register("after-call.iam.AddUserToGroup", arm)
    iam.meta.events.register("before-call.iam.*", fail)
    outcome = _run(iam, UserName="alice")

    now = effective_policies(observer, "alice")
    assert state["done"]
    message = str(outcome)
    if READ_ONLY in now.managed:
        assert "nothing was lost or granted" not in message, message
        assert "remove-user-from-group" in message, message


# 4. The lock's CreateGroup succeeds in IAM but the answer is lost (ReadTimeoutError after
#    botocore's retries): acquire raises, group_id is never set, and the lock is left
#    behind without a word: every run for this user is refused for 15 minutes.
def test_lost_answer_to_the_locks_create_group_does_not_leave_the_lock(iam, make_user, observer):
    make_user("alice", [S3_FULL])
    done: list[bool] = []

    def lose(**_kwargs: Any) -> None:
        if not done:
            done.append(True)
            raise ReadTimeoutError(endpoint_url="https://iam.amazonaws.com/")

    iam.meta.events.register("after-call.iam.CreateGroup", lose)
    outcome = _run(iam, UserName="alice")
    iam.meta.events.unregister("after-call.iam.CreateGroup", lose)

    assert done
    left = _locks(observer)
    assert len(left) == 1, left
    assert left[0] in str(outcome), repr(outcome)
    assert f"aws iam delete-group --group-name {left[0]}" in str(outcome)
    # A re-run cannot tell that lock from another run's: it is refused, naming the command.
    again = _run(iam, UserName="alice")
    assert isinstance(again, RemediationError), again
    assert f"aws iam delete-group --group-name {left[0]}" in str(again)
    observer.delete_group(GroupName=left[0])
    assert _run(iam, UserName="alice")["Status"] == "MOVED"


# 5. Bulk: a group of the user outside the remediation path that covered a policy in the
#    account's read, and lost it since, is not read again under the lock (only
#    remediation-path groups are): the plan counts it as covering, the read-back fails
#    (after 7.5 s of retries) and the user is stopped part-way, where one remediation
#    (which reads the group live) moves it.
def test_bulk_ordinary_group_that_lost_a_policy_since_the_read_is_replanned(
    iam, make_user, make_group, observer
):
    from test_remediation_bulk import Bulk

    make_group("Ops", [READ_ONLY])
    make_user("alice", [S3_FULL, READ_ONLY], groups=["Ops"])
    bulk = Bulk(iam)
    observer.detach_group_policy(GroupName="Ops", PolicyArn=READ_ONLY)  # after the read

    from no_direct_policies.move import executor

    executor.VERIFY_DELAYS, saved = (0.0,), executor.VERIFY_DELAYS
    try:
        outcome = bulk.apply("alice")
    finally:
        executor.VERIFY_DELAYS = saved
    assert effective_policies(observer, "alice").managed == {S3_FULL, READ_ONLY}
    assert outcome.get("Status") == "MOVED", outcome


# 6. Two runs for one user with different GroupNamePrefix values (the automatic
#    remediation and `remediate --group-name-prefix`) meet the same run lock, named from
#    the user ID alone: the second is refused, and the first completes.
def test_runs_with_different_prefixes_meet_the_same_lock(iam, make_user, observer):
    make_user("alice", [S3_FULL, READ_ONLY])
    other = boto3.client("iam", region_name=REGION)  # the second run's own client
    refused: list[str] = []
    seen: list[str] = []

    def second_run(model: Any, **_kwargs: Any) -> None:
        seen.append(model.name)
        joined = "AddUserToGroup" in seen
        if joined and model.name == "ListAttachedUserPolicies" and not refused:
            try:  # before the first run's removals: it holds the lock
                remediate(other, UserName="alice", GroupNamePrefix="Other-")
            except RemediationError as error:
                refused.append(str(error))

    iam.meta.events.register("before-call.iam.*", second_run)
    outcome = remediate(iam, UserName="alice")
    iam.meta.events.unregister("before-call.iam.*", second_run)

    assert refused, "the second run was not started"
    assert refused[0].startswith("Refused: another remediation of this user is in progress")
    assert outcome["Status"] == "MOVED"
    assert effective_policies(observer, "alice").managed == {S3_FULL, READ_ONLY}
    assert [g["GroupName"] for g in observer.list_groups(PathPrefix=PATH)["Groups"]] == [
        group_name("MovedPolicies-", [S3_FULL, READ_ONLY], [])
    ]


# 7. A re-plan under the lock reads GetAccountSummary again, which may or may not count
#    the run lock yet (IAM is eventually consistent): the planner adds the lock all the
#    same, so at the exact GroupsQuota the re-plan is refused, never let past it.
@pytest.mark.parametrize("summary_counts_the_lock", [True, False])
def test_a_re_plan_under_the_lock_never_exceeds_groups_quota(
    iam, make_user, observer, quotas, summary_counts_the_lock
):
    observer.create_group(GroupName="storage")
    observer.attach_group_policy(GroupName="storage", PolicyArn=S3_FULL)
    make_user("alice", [S3_FULL], groups=["storage"])  # first plan: nothing to create
    before = len(observer.list_groups()["Groups"])
    quotas["GroupsQuota"] = before + 1  # room for the lock and nothing else
    if not summary_counts_the_lock:
        quotas["Groups"] = before  # the summary as IAM may still answer it
    once_before(
        iam,
        "CreateGroup",  # the lock's: between the first read and the lock, alice gets more
        lambda: observer.attach_user_policy(UserName="alice", PolicyArn=READ_ONLY),
    )

    with pytest.raises(RemediationRefused, match="GroupsQuota"):
        remediate(iam, UserName="alice")
    assert len(observer.list_groups()["Groups"]) == before  # not even the lock is left


# 8. A covering group outside the remediation path that also has inline policies is read
#    the way the plan read it: no needless re-read and re-plan under the lock.
def test_a_covering_group_with_inline_policies_does_not_force_a_re_plan(iam, make_user, make_group):
    make_group("ops", [S3_FULL], inline={"note": LIST_BUCKETS})
    make_user("alice", [S3_FULL, READ_ONLY], groups=["ops"])

    calls = recorded_calls(iam, lambda: remediate(iam, UserName="alice"))

    assert calls.count("GetAccountSummary") == 1, calls
