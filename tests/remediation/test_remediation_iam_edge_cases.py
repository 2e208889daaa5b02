"""Edge cases of real IAM that moto does not reproduce by itself, and payload strictness.

- IAM group names are unique regardless of case, and IAM resolves a name given
  in another case to the existing group; moto treats names case-sensitively, so
  ``_case_insensitive_names`` makes the ``iam`` client behave as IAM does.
- A user deleted before the helper has read it, and a policy removed from the
  user by someone else just before the helper detaches it.
- Payload names are checked with IAM's ASCII patterns.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from remediation_helpers import (
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    delete_user,
    effective_policies,
    once_before,
    remediate,
)

from no_direct_policies.move.plan import group_name
from no_direct_policies.move.request import RemediationError, RemediationStopped, parse_payload

PATH = "/config-remediation/"
GROUP = group_name("MovedPolicies-", [S3_FULL], [])


def _case_insensitive_names(iam: Any, observer: Any, *, resolve: bool = True) -> None:
    """Make the ``iam`` client treat group names as IAM does: unique regardless of case.

    CreateGroup of a name that differs only in case from an existing group fails
    with EntityAlreadyExists; with ``resolve`` every other call naming a group in
    another case acts on the existing group, without it such calls find nothing.
    """

    def existing(name: str) -> str | None:
        for group in observer.list_groups()["Groups"]:
            if group["GroupName"].lower() == name.lower():
                return group["GroupName"]
        return None

    def emulate(params: dict, model: Any, **_kwargs: Any) -> None:
        name = params.get("GroupName")
        if name is None:
            return
        actual = existing(name)
        if actual is None or actual == name:
            return
        if model.name == "CreateGroup":
            raise ClientError(
                {"Error": {"Code": "EntityAlreadyExists", "Message": f"Group {name} exists"}},
                model.name,
            )
        if resolve:
            params["GroupName"] = actual

    iam.meta.events.register("before-parameter-build.iam", emulate)


def test_matching_group_whose_name_differs_only_in_case_is_used_and_verified(
    iam, make_user, make_group, observer, guard
):
    other_case = make_group(GROUP.lower(), [S3_FULL], path=PATH)
    make_user("John", [S3_FULL])
    guard.watch("John")
    _case_insensitive_names(iam, observer)

    result = remediate(iam, UserName="John")

    assert result["Status"] == "MOVED"
    assert result["Groups"] == [other_case]
    assert guard.violations == []
    assert [g["GroupName"] for g in iam.list_groups()["Groups"]] == [other_case]
    assert iam.list_attached_user_policies(UserName="John")["AttachedPolicies"] == []
    assert effective_policies(iam, "John").managed == {S3_FULL}
    assert remediate(iam, UserName="John")["Status"] == "NOTHING_TO_MOVE"


def test_group_whose_name_differs_only_in_case_and_carries_more_is_refused(
    iam, make_user, make_group, observer
):
    make_group(GROUP.lower(), [S3_FULL, READ_ONLY], path=PATH)
    make_user("John", [S3_FULL])
    _case_insensitive_names(iam, observer)

    with pytest.raises(RemediationError, match="cannot be used: it has other managed policies"):
        remediate(iam, UserName="John")

    assert iam.list_groups_for_user(UserName="John")["Groups"] == []


def test_group_name_taken_in_another_case_but_unreadable_is_a_clear_refusal(
    iam, make_user, make_group, observer
):
    make_group(GROUP.lower(), [S3_FULL], path=PATH)
    make_user("John", [S3_FULL])
    _case_insensitive_names(iam, observer, resolve=False)

    with pytest.raises(RemediationError, match=f"{GROUP}.*differ.* case.*GroupNamePrefix"):
        remediate(iam, UserName="John")

    assert len(iam.list_groups()["Groups"]) == 1
    assert iam.list_groups_for_user(UserName="John")["Groups"] == []


@pytest.mark.parametrize("dry_run", [False, True])
def test_user_deleted_before_its_policies_are_read_is_a_clear_outcome(
    iam, make_user, observer, dry_run
):
    john = make_user("John", [S3_FULL])
    once_before(iam, "ListAttachedUserPolicies", lambda: delete_user(observer, "John"))

    with pytest.raises(RemediationError, match=r"John .* no longer exists\. Nothing was changed"):
        remediate(iam, IAMResourceId=john["UserId"], DryRun=dry_run)

    assert iam.list_groups()["Groups"] == []


def test_policies_removed_by_someone_else_before_the_detaches_stay_removed(
    iam, make_user, observer
):
    # Between the last check and the first DetachUserPolicy, both policies leave John.
    # IAM cannot tell a revocation from another run's detach; the change stands, and John
    # leaves the group this run added him to, which loses nothing he still has.
    make_user("John", [S3_FULL, READ_ONLY])
    group = group_name("MovedPolicies-", [S3_FULL, READ_ONLY], [])
    once_before(
        iam,
        "DetachUserPolicy",
        lambda: [
            observer.detach_user_policy(UserName="John", PolicyArn=arn)
            for arn in (S3_FULL, READ_ONLY)
        ],
    )

    with pytest.raises(RemediationStopped) as stopped:
        remediate(iam, UserName="John")

    assert str(stopped.value).startswith(
        f"Stopped part-way: {S3_FULL}, {READ_ONLY} left IAM user John during the remediation: "
        "someone revoked it"
    )
    assert f"Removed John from {group}" in str(stopped.value)
    assert effective_policies(iam, "John").managed == set()
    assert iam.list_groups_for_user(UserName="John")["Groups"] == []


def test_inline_policy_revoked_after_the_others_moved_is_reported_as_still_reaching_the_user(
    iam, make_user, observer, guard
):
    # The residual window: leaving the group would now lose S3_FULL, already detached.
    make_user("John", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
    guard.watch("John")
    once_before(
        iam,
        "DeleteUserPolicy",
        lambda: observer.delete_user_policy(UserName="John", PolicyName="list-buckets"),
    )

    with pytest.raises(
        RemediationStopped, match="inline policy list-buckets left IAM user John"
    ) as stopped:
        remediate(iam, UserName="John", MoveInlinePolicies=True)

    assert f"it also carries {S3_FULL}" in str(stopped.value)
    assert "still reaches John through that group" in str(stopped.value)
    assert guard.violations == []  # nothing lost; the revoked document is the residual
    assert effective_policies(iam, "John").managed == {S3_FULL}


def test_policy_still_attached_after_a_not_found_detach_is_not_reported_moved(
    iam, make_user, observer
):
    """Tolerating NoSuchEntity must not hide a policy that is in fact still on the user."""
    make_user("John", [S3_FULL])

    def not_found(**_kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "NoSuchEntity", "Message": "not found"}}, "DetachUserPolicy"
        )

    iam.meta.events.register("before-call.iam.DetachUserPolicy", not_found)
    try:
        with pytest.raises(RemediationStopped, match="AWS error NoSuchEntity on DetachUserPolicy"):
            remediate(iam, UserName="John")
    finally:
        iam.meta.events.unregister("before-call.iam.DetachUserPolicy", not_found)

    assert effective_policies(iam, "John").managed == {S3_FULL}


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"UserName": "jos\u00e9"}, "UserName"),
        ({"UserName": "John", "GroupNamePrefix": "Gr\u00fcppe-"}, "GroupNamePrefix"),
        ({"UserName": "John", "GroupNamePrefix": "\u0661\u0662-"}, "GroupNamePrefix"),
    ],
)
def test_names_outside_iams_ascii_pattern_are_refused(payload, key):
    with pytest.raises(RemediationError, match=f"{key} is "):
        parse_payload(payload)
