"""End-to-end scenarios of the helper against moto: the issue's scenario list, with exact outcomes."""

from __future__ import annotations

import pytest
from conftest import S3_FULL, effective_policies, remediate
from group_plan import group_name


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
