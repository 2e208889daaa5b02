"""An inline document rewritten before its delete, a group that gains a member while it is
built, a remediation group changed since the account's read, and a network error after a
change: none may make a user lose or gain a policy, or leave the run lock behind."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from remediation_helpers import (
    CHANGE_PASSWORD,
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    before_call,
    canonical_document,
    effective_policies,
    recorded_calls,
    remediate,
)

from no_direct_policies.move.plan import group_name
from no_direct_policies.move.request import RemediationError

PATH = "/config-remediation/"
NEW_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
}
ALL3 = group_name("MovedPolicies-", [CHANGE_PASSWORD, S3_FULL, READ_ONLY], [])


def _run(iam: Any, **payload: Any) -> Any:
    try:
        return remediate(iam, **payload)
    except (RemediationError, ClientError) as error:
        return error


# 1. An inline document rewritten after the direct read before the first removal (found
#    by the GetUserPolicy before the first DeleteUserPolicy) is the old document's
#    revocation: the user leaves the new group, which loses nothing.
def test_inline_rewritten_before_first_delete_is_taken_back(iam, make_user, observer):
    make_user("qclean", [], inline={"list-buckets": LIST_BUCKETS})
    calls = recorded_calls(iam, lambda: remediate(iam, UserName="qclean", MoveInlinePolicies=True))
    delete = calls.index("DeleteUserPolicy")
    index = max(i for i in range(delete) if calls[i] == "ListGroupsForUser")  # read-back
    make_user("q", [], inline={"list-buckets": LIST_BUCKETS})

    def rewrite() -> None:
        observer.put_user_policy(
            UserName="q", PolicyName="list-buckets", PolicyDocument=json.dumps(NEW_DOC)
        )

    with before_call(iam, index, rewrite):
        outcome = _run(iam, UserName="q", MoveInlinePolicies=True)
    assert "was rewritten: the new document stays on q" in str(outcome)
    now = effective_policies(observer, "q")
    assert canonical_document(NEW_DOC) in now.inline
    # The old document was replaced by someone else: it must not keep reaching q through
    # the group this run made (q only joined it; leaving it loses nothing).
    assert canonical_document(LIST_BUCKETS) not in now.inline, observer.list_groups_for_user(
        UserName="q"
    )["Groups"]


# 2. A group gains a member while it is being built: each policy added to it is preceded
#    by a read of its members, so the member is seen and nothing more is added.
def _add_before_the_check(iam: Any, observer: Any, group: str, nth_attach: int) -> None:
    """Add carol to ``group`` right before the read that precedes the nth AttachGroupPolicy
    (the ``GetGroup`` after the group exists: after the run lock's and the group's
    ``CreateGroup`` when the run creates it)."""
    seen: list[str] = []
    done: list[bool] = []

    def hook(model: Any, **_kwargs: Any) -> None:
        seen.append(model.name)
        ready = seen.count("AttachGroupPolicy") == nth_attach - 1 and (
            observer.list_groups(PathPrefix=PATH)["Groups"]
            and any(g["GroupName"] == group for g in observer.list_groups()["Groups"])
        )
        if model.name == "GetGroup" and ready and not done and "AddUserToGroup" not in seen:
            done.append(True)
            observer.add_user_to_group(GroupName=group, UserName="carol")

    iam.meta.events.register("before-call.iam.*", hook)


def test_member_added_before_a_completing_attach_gains_nothing(
    iam, make_user, make_group, observer
):
    make_group(ALL3, [S3_FULL], path=PATH)  # an interrupted run's group, no member
    make_user("alice", [S3_FULL, READ_ONLY, CHANGE_PASSWORD])
    make_user("carol", [S3_FULL, CHANGE_PASSWORD])
    _add_before_the_check(iam, observer, ALL3, nth_attach=2)
    before = effective_policies(observer, "carol")  # joining S3 alone gives carol nothing

    outcome = _run(iam, UserName="alice")

    assert isinstance(outcome, RemediationError), outcome
    assert "already has members (carol)" in str(outcome)
    assert effective_policies(observer, "carol") == before
    assert effective_policies(observer, "alice").managed == {S3_FULL, READ_ONLY, CHANGE_PASSWORD}


def test_member_added_to_a_group_this_run_created_gains_nothing(iam, make_user, observer):
    make_user("alice", [S3_FULL])
    make_user("carol", [])
    group = group_name("MovedPolicies-", [S3_FULL], [])
    _add_before_the_check(iam, observer, group, nth_attach=1)

    outcome = _run(iam, UserName="alice")

    assert isinstance(outcome, RemediationError), outcome
    assert f"Group {group} exists but cannot be used" in str(outcome)
    assert "already has members (carol)" in str(outcome)
    assert effective_policies(observer, "carol").managed == frozenset()
    assert effective_policies(observer, "alice").managed == {S3_FULL}


# 3. Bulk: rule 2 says a remediation group the user is in that carries more than its name's
#    set is never counted as covering anything (refused), also when someone attached more
#    to it after the account's read: its contents are read again under the lock.
def test_bulk_does_not_count_a_remediation_group_changed_since_the_snapshot(
    iam, make_user, make_group, observer
):
    from test_remediation_bulk import Bulk

    g = make_group(group_name("MovedPolicies-", [S3_FULL], []), [S3_FULL], path=PATH)
    make_user("alice", [S3_FULL], groups=[g])
    bulk = Bulk(iam)
    observer.attach_group_policy(GroupName=g, PolicyArn=READ_ONLY)  # after the account read

    # What the helper does for one user: refused, nothing changed (rule 2).
    single = _run(iam, UserName="alice")
    assert str(single).startswith("Refused")
    outcome = bulk.apply("alice")
    assert outcome.get("Outcome") == "REFUSED", outcome
    assert S3_FULL in {
        p["PolicyArn"]
        for p in observer.list_attached_user_policies(UserName="alice")["AttachedPolicies"]
    }


# 4. A network error (botocore's EndpointConnectionError / ReadTimeoutError, not a
#    ClientError) after a first change: the lock is released and "Stopped part-way" names
#    what was changed.
def test_network_error_after_a_change_releases_the_lock_and_reports_a_stop(iam, make_user):
    from botocore.exceptions import EndpointConnectionError

    from no_direct_policies.move.plan import RemediationStopped

    make_user("alice", [S3_FULL])

    def drop(**_kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/")

    iam.meta.events.register("before-call.iam.DetachUserPolicy", drop)
    try:
        outcome: Any = remediate(iam, UserName="alice")
    except Exception as error:
        outcome = error
    iam.meta.events.unregister("before-call.iam.DetachUserPolicy", drop)
    locks = [g["GroupName"] for g in iam.list_groups()["Groups"] if "-lock-" in g["GroupName"]]
    assert locks == []
    assert isinstance(outcome, RemediationStopped)
