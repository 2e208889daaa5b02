"""Shared fixtures: one simulated AWS account per test session.

Loading the AWS-managed policies into moto takes about a second, so the
account is created once per session (per xdist worker) and every test gets it
back empty: the ``iam`` fixture deletes the users, groups and customer
policies a test created.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from no_direct_policies.simulation.account import (
    ACCOUNT_ID,
    CLEARED_ENV,
    REGION,
    SIMULATED_ENV,
    patch_moto,
)
from no_direct_policies.simulation.lambda_entries import helper_entry, rule_entry

# The Lambda entry files, loaded from their folders under the names Lambda imports them
# by, so tests say ``from IAM_USER_NO_DIRECT_POLICIES import lambda_handler``.
rule_entry()
helper_entry()

__all__ = ["ACCOUNT_ID", "REGION"]


@pytest.fixture(scope="session")
def aws_account() -> Iterator[None]:
    """A moto account with the AWS-managed policies loaded, for the whole session."""
    mp = pytest.MonkeyPatch()
    for key, value in SIMULATED_ENV.items():
        mp.setenv(key, value)
    for key in CLEARED_ENV:
        mp.delenv(key, raising=False)
    patch_moto()
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield
    mp.undo()


def _empty_account(iam) -> None:
    """Delete every user, group and customer managed policy (AWS-managed ones stay)."""
    for group in iam.list_groups()["Groups"]:
        name = group["GroupName"]
        for user in iam.get_group(GroupName=name)["Users"]:
            iam.remove_user_from_group(GroupName=name, UserName=user["UserName"])
        for policy in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]:
            iam.detach_group_policy(GroupName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in iam.list_group_policies(GroupName=name)["PolicyNames"]:
            iam.delete_group_policy(GroupName=name, PolicyName=policy_name)
        iam.delete_group(GroupName=name)
    for user in iam.list_users()["Users"]:
        name = user["UserName"]
        for policy in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
            iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=policy_name)
        iam.delete_user(UserName=name)
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        iam.delete_policy(PolicyArn=policy["Arn"])


@pytest.fixture
def iam(aws_account):
    """An IAM client on the session's account, emptied after the test."""
    client = boto3.client("iam", region_name=REGION)
    _empty_account(client)
    yield client
    _empty_account(client)
