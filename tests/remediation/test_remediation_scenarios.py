"""Scenarios of the helper against moto, from the issue's list, with exact outcomes."""

from __future__ import annotations

import json
import logging

import pytest
from remediation_helpers import (
    CHANGE_PASSWORD,
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    effective_policies,
    iam_snapshot,
    remediate,
)

from no_direct_policies.move.plan import group_name
from no_direct_policies.move.request import RemediationError, RemediationRefused


def test_seed_scenario_john_david_and_mark_share_one_group_and_keep_s3_access(iam, make_user):
    for name in ("John", "David", "Mark"):
        make_user(name, [S3_FULL])
    group = group_name("MovedPolicies-", [S3_FULL], [])

    results = [remediate(iam, UserName=name) for name in ("John", "David", "Mark")]

    assert [r["Status"] for r in results] == ["MOVED"] * 3
    assert all(r["Groups"] == [group] for r in results)
    assert results[0]["Actions"] == [
        {"Action": "CreateGroup", "GroupName": group, "Path": "/config-remediation/"},
        {"Action": "AttachGroupPolicy", "GroupName": group, "PolicyArn": S3_FULL},
        {"Action": "AddUserToGroup", "GroupName": group, "UserName": "John"},
        {"Action": "DetachUserPolicy", "UserName": "John", "PolicyArn": S3_FULL},
    ]
    assert results[1]["Actions"] == [
        {"Action": "AddUserToGroup", "GroupName": group, "UserName": "David"},
        {"Action": "DetachUserPolicy", "UserName": "David", "PolicyArn": S3_FULL},
    ]
    for name in ("John", "David", "Mark"):
        assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == []
        assert effective_policies(iam, name).managed == {S3_FULL}
    assert sorted(u["UserName"] for u in iam.get_group(GroupName=group)["Users"]) == [
        "David",
        "John",
        "Mark",
    ]


def _groups_of(iam, user_name: str) -> list[str]:
    return sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=user_name)["Groups"])


def _attached_to_group(iam, name: str) -> list[str]:
    return sorted(
        p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]
    )


def test_many_users_with_the_same_set_share_one_group(iam, make_user):
    names = [f"dev{i}" for i in range(6)]
    for name in names:
        make_user(name, [S3_FULL, READ_ONLY])

    groups = {tuple(remediate(iam, UserName=name)["Groups"]) for name in names}

    (group,) = {g for t in groups for g in t}
    assert groups == {(group,)}
    assert group == group_name("MovedPolicies-", [S3_FULL, READ_ONLY], [])
    assert sorted(u["UserName"] for u in iam.get_group(GroupName=group)["Users"]) == names
    assert [g["GroupName"] for g in iam.list_groups()["Groups"]] == [group]


@pytest.mark.parametrize(
    ("count", "group_sizes"), [(1, [1]), (10, [10]), (11, [10, 1]), (25, [10, 10, 5])]
)
def test_policy_sets_larger_than_a_group_are_split_in_arn_order(
    iam, make_user, aws_managed_arns, count, group_sizes
):
    policies = aws_managed_arns[:count]
    make_user("alice", policies)

    result = remediate(iam, UserName="alice")

    chunks = [policies[i : i + 10] for i in range(0, count, 10)]
    expected = [group_name("MovedPolicies-", chunk, []) for chunk in chunks]
    assert result["Status"] == "MOVED"
    assert result["Groups"] == expected
    assert result["MovedPolicyArns"] == policies
    assert [len(_attached_to_group(iam, name)) for name in expected] == group_sizes
    assert [_attached_to_group(iam, name) for name in expected] == chunks
    assert _groups_of(iam, "alice") == sorted(expected)
    assert iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"] == []
    assert effective_policies(iam, "alice").managed == set(policies)


def test_user_with_no_policies_has_nothing_to_move_and_no_group_is_created(
    iam, make_user, call_log
):
    user = make_user("bob")
    call_log.calls.clear()

    result = remediate(iam, IAMResourceId=user["UserId"])

    assert result == {
        "UserName": "bob",
        "UserId": user["UserId"],
        "Status": "NOTHING_TO_MOVE",
        "Groups": [],
        "MovedPolicyArns": [],
        "Actions": [],
    }
    assert call_log.writes == []
    assert iam.list_groups()["Groups"] == []


def test_second_run_on_a_remediated_user_changes_nothing(iam, make_user, call_log):
    make_user("carol", [S3_FULL])
    remediate(iam, UserName="carol")
    call_log.calls.clear()

    again = remediate(iam, UserName="carol")

    assert again["Status"] == "NOTHING_TO_MOVE"
    assert again["Actions"] == []
    assert call_log.writes == []


def test_group_quota_shrunk_to_two_splits_five_policies_into_three_groups(
    iam, make_user, aws_managed_arns, quotas
):
    quotas["AttachedPoliciesPerGroupQuota"] = 2
    make_user("dave", aws_managed_arns[:5])

    result = remediate(iam, UserName="dave")

    assert [len(_attached_to_group(iam, name)) for name in result["Groups"]] == [2, 2, 1]


def test_existing_group_outside_the_remediation_path_with_the_same_set_is_not_reused(
    iam, make_user, make_group
):
    make_group("Storage", [S3_FULL])
    make_user("erin", [S3_FULL])

    result = remediate(iam, UserName="erin")

    ours = group_name("MovedPolicies-", [S3_FULL], [])
    assert result["Groups"] == [ours]
    assert iam.get_group(GroupName=ours)["Group"]["Path"] == "/config-remediation/"
    assert iam.get_group(GroupName="Storage")["Users"] == []
    assert _attached_to_group(iam, "Storage") == [S3_FULL]


@pytest.mark.parametrize(
    ("group", "reason"),
    [
        ({"policies": [S3_FULL, READ_ONLY]}, "other managed policies attached"),
        ({"policies": [S3_FULL], "path": "/"}, "its path is /, not /config-remediation/"),
        (
            {"policies": [S3_FULL], "inline": {"extra": LIST_BUCKETS}},
            "other inline policies: extra",
        ),
    ],
    ids=["superset", "other-path", "inline-policy"],
)
def test_group_with_the_planned_name_but_other_contents_is_refused_and_nothing_changes(
    iam, make_user, make_group, group, reason
):
    make_group(
        group_name("MovedPolicies-", [S3_FULL], []),
        group["policies"],
        group.get("path", "/config-remediation/"),
        group.get("inline"),
    )
    make_user("frank", [S3_FULL])
    before = iam_snapshot(iam)

    with pytest.raises(RemediationError, match=reason) as refused:
        remediate(iam, UserName="frank")

    assert type(refused.value) is RemediationRefused
    assert str(refused.value).startswith("Refused: ")
    assert iam_snapshot(iam) == before


def test_user_already_in_nine_groups_is_moved_into_a_tenth(iam, make_user, make_group, quotas):
    quotas["GroupsPerUserQuota"] = 10
    groups = [make_group(f"team{i}") for i in range(9)]
    make_user("gina", [S3_FULL], groups=groups)

    result = remediate(iam, UserName="gina")

    assert result["Status"] == "MOVED"
    assert len(_groups_of(iam, "gina")) == 10


def test_user_already_in_ten_groups_is_refused_before_any_change(
    iam, make_user, make_group, quotas
):
    quotas["GroupsPerUserQuota"] = 10
    groups = [make_group(f"team{i}") for i in range(10)]
    make_user("hank", [S3_FULL], groups=groups)
    before = iam_snapshot(iam)

    with pytest.raises(
        RemediationError,
        match=r"in 10 groups and would need 1 more, over GroupsPerUserQuota \(10\)",
    ):
        remediate(iam, UserName="hank")

    assert iam_snapshot(iam) == before


def test_account_at_its_groups_quota_refuses_a_new_group_but_reuses_an_existing_one(
    iam, make_user, quotas
):
    make_user("ivan", [S3_FULL])
    make_user("jill", [S3_FULL])
    make_user("kate", [READ_ONLY])
    remediate(iam, UserName="ivan")
    quotas["GroupsQuota"] = 2  # ivan's group and, while a run lasts, its run lock
    before = iam_snapshot(iam)

    with pytest.raises(
        RemediationError,
        match=r"has 1 groups and the move would create 1 more, plus its run lock group while "
        r"it runs, over GroupsQuota \(2\)",
    ):
        remediate(iam, UserName="kate")
    assert iam_snapshot(iam) == before

    assert remediate(iam, UserName="jill")["Status"] == "MOVED"


def test_dry_run_plans_the_exact_actions_and_changes_nothing(iam, make_user, aws_managed_arns):
    make_user("lena", aws_managed_arns[:11])
    before = iam_snapshot(iam)

    planned = remediate(iam, UserName="lena", DryRun="true")

    assert planned["Status"] == "PLANNED"
    assert iam_snapshot(iam) == before
    done = remediate(iam, UserName="lena")
    assert done["Actions"] == planned["Actions"]
    assert [a["Action"] for a in planned["Actions"]] == (
        ["CreateGroup"]
        + ["AttachGroupPolicy"] * 10
        + ["CreateGroup", "AttachGroupPolicy"]
        + ["AddUserToGroup"] * 2
        + ["DetachUserPolicy"] * 11
    )


def test_user_found_by_its_config_resource_id_in_pages_of_a_thousand(iam, make_user, call_log):
    make_user("other", [READ_ONLY])
    user = make_user("mike", [S3_FULL])
    call_log.calls.clear()

    result = remediate(iam, IAMResourceId=user["UserId"])

    (list_users,) = [params for name, params in call_log.calls if name == "ListUsers"]
    assert list_users["body"]["MaxItems"] == 1000

    assert (result["UserName"], result["UserId"], result["Status"]) == (
        "mike",
        user["UserId"],
        "MOVED",
    )
    assert iam.list_attached_user_policies(UserName="other")["AttachedPolicies"] != []


def test_unknown_user_id_is_a_clear_refusal_and_leaves_no_group(iam, make_user):
    make_user("nina", [S3_FULL])

    with pytest.raises(RemediationError, match="No IAM user has the ID AIDAXXXXXXXXXXXXXXXXX"):
        remediate(iam, IAMResourceId="AIDAXXXXXXXXXXXXXXXXX")

    assert iam.list_groups()["Groups"] == []


def test_exempt_policies_stay_on_the_user(iam, make_user):
    make_user("olga", [S3_FULL, CHANGE_PASSWORD])

    result = remediate(iam, UserName="olga", ExemptPolicyArns=CHANGE_PASSWORD)

    assert result["MovedPolicyArns"] == [S3_FULL]
    assert [
        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="olga")["AttachedPolicies"]
    ] == [CHANGE_PASSWORD]


def test_policies_already_reaching_the_user_through_its_group_are_only_detached(
    iam, make_user, make_group
):
    make_group("Storage", [S3_FULL])
    make_user("pete", [S3_FULL], groups=["Storage"])

    result = remediate(iam, UserName="pete")

    assert result["Groups"] == ["Storage"]
    assert result["Actions"] == [
        {"Action": "DetachUserPolicy", "UserName": "pete", "PolicyArn": S3_FULL}
    ]
    assert iam.list_groups()["Groups"][0]["GroupName"] == "Storage"
    assert len(iam.list_groups()["Groups"]) == 1


def test_inline_policies_move_to_the_group_only_when_asked(iam, make_user):
    make_user("quinn", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
    make_user("rita", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
    before = effective_policies(iam, "quinn")

    kept = remediate(iam, UserName="rita")
    moved = remediate(iam, UserName="quinn", MoveInlinePolicies=True)

    assert iam.list_user_policies(UserName="rita")["PolicyNames"] == ["list-buckets"]
    assert iam.list_user_policies(UserName="quinn")["PolicyNames"] == []
    (group,) = moved["Groups"]
    assert group != kept["Groups"][0]
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["list-buckets"]
    assert (
        iam.get_group_policy(GroupName=group, PolicyName="list-buckets")["PolicyDocument"]
        == LIST_BUCKETS
    )
    assert effective_policies(iam, "quinn") == before
    assert moved["Actions"][-1] == {
        "Action": "DeleteUserPolicy",
        "UserName": "quinn",
        "PolicyName": "list-buckets",
    }


def test_every_iam_change_is_logged_in_order(iam, make_user, caplog):
    make_user("sara", [S3_FULL])
    caplog.set_level(logging.INFO, logger="move_policies_to_group")

    result = remediate(iam, UserName="sara")

    lock = f"MovedPolicies-lock-{result['UserId']}"
    assert [json.loads(r.getMessage().removeprefix("IAM ")) for r in caplog.records] == [
        {"Action": "CreateGroup", "GroupName": lock, "Path": "/config-remediation/"},
        *result["Actions"],
        {"Action": "DeleteGroup", "GroupName": lock},
    ]
