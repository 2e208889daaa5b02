"""The shared account fixture behaves like a fresh AWS account."""

import re


def test_users_get_aws_style_ids(iam):
    user = iam.create_user(UserName="john")["User"]
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", user["UserId"])


def test_aws_managed_policies_are_loaded(iam):
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")["Policy"]
    assert policy["PolicyName"] == "AmazonS3FullAccess"


def test_account_starts_empty(iam):
    assert iam.list_users()["Users"] == []
    assert iam.list_groups()["Groups"] == []
