"""The rendered account template creates its stack in moto's CloudFormation.

moto creates the roles, Lambdas, permissions, log groups and the SSM
document, and skips the two Config resources (it cannot create them), so this
proves every reference between the per-account resources resolves and what
the policies resolve to; the Config resources are covered by cfn-lint and the
template tests. The zips are uploaded and referenced as
``aws cloudformation package`` does.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from no_direct_policies.simulation.account import ACCOUNT_ID, REGION

# moto warns that it skips the Config resources and the alarm: expected, see above.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Tried to parse AWS..Config"),
    # moto cannot create CloudWatch alarms either; cfn-lint covers the dead-letter alarm.
    pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudWatch..Alarm"),
]
BUCKET = "deploy-test-artifacts"
STACK = "deploy-test"


def packaged(template: dict[str, Any], s3) -> dict[str, Any]:
    """The template as `aws cloudformation package` leaves it: zips in S3, Code pointing there."""
    stub = io.BytesIO()
    with zipfile.ZipFile(stub, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    result = copy.deepcopy(template)
    for resource in result["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            key = resource["Properties"]["Code"]
            s3.put_object(Bucket=BUCKET, Key=key, Body=stub.getvalue())
            resource["Properties"]["Code"] = {"S3Bucket": BUCKET, "S3Key": key}
    return result


@pytest.fixture(scope="module")
def stack(aws_account, account) -> Iterator[dict[str, str]]:
    """The account template's stack, created in moto; its resources' physical IDs."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(packaged(account, s3)),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    yield {
        "status": cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"],
        **{s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries},
    }
    cloudformation.delete_stack(StackName=STACK)


def role_policy(role_name: str, policy_name: str) -> dict[str, Any]:
    """A role's inline policy as moto resolved it (moto returns it as a Python literal)."""
    document = boto3.client("iam", region_name=REGION).get_role_policy(
        RoleName=role_name, PolicyName=policy_name
    )["PolicyDocument"]
    return ast.literal_eval(document) if isinstance(document, str) else document


def test_every_per_account_resource_is_created(stack):
    assert stack["status"] == "CREATE_COMPLETE"
    for logical_id in ("RuleRole", "RuleFunction", "HelperRole", "HelperFunction"):
        assert stack[logical_id], logical_id
    assert stack["AutomationRole"] == "IAM_USER_NO_DIRECT_POLICIES-automation"
    assert stack["RemediationDocument"] == "MoveIAMUserPoliciesToGroup"


def test_group_writes_resolve_to_the_remediation_path_of_this_account(stack):
    statements = role_policy(stack["HelperRole"], "move-policies-to-group")["Statement"]
    writes = next(s for s in statements if s["Sid"] == "WriteRemediationGroupsOnly")
    assert writes["Resource"] == f"arn:aws:iam::{ACCOUNT_ID}:group/config-remediation/*"


def test_helper_resource_policy_names_the_automation_role(stack):
    policy = json.loads(
        boto3.client("lambda", region_name=REGION).get_policy(
            FunctionName="MoveIAMUserPoliciesToGroup"
        )["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:role/IAM_USER_NO_DIRECT_POLICIES-automation"
    )
    assert statement["Action"] == "lambda:InvokeFunction"


def test_automation_role_may_invoke_only_the_deployed_helper(stack):
    statements = role_policy("IAM_USER_NO_DIRECT_POLICIES-automation", "run-remediation")
    invoke = next(s for s in statements["Statement"] if s["Sid"] == "InvokeHelperOnly")
    assert invoke["Resource"] == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:MoveIAMUserPoliciesToGroup"
    )
