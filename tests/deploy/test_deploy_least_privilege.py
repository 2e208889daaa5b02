"""Least privilege: each role allows exactly what its code calls, scoped as tightly as IAM allows.

The helper's actions are measured, not listed from memory: the helper runs
against moto through every path it has (move, reuse, inline policies, dry run,
nothing to move, a user deleted mid-way) and the IAM operations it calls must
be exactly the ones its role allows (with the Config call that finds a user
by its ID).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import xform_name
from iam_policy_checks import (
    GROUP_WRITE_ACTIONS,
    role_actions,
    statement_resources,
    unscoped_group_writes,
    wildcard_actions,
)

from deploy import build
from deploy.build import automation_verify_permissions, group_path
from no_direct_policies.move import iam_reads
from no_direct_policies.move.request import RemediationError, move_user_policies, parse_payload
from no_direct_policies.move.undo import parse_undo_payload, restore_user_policies

S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
INLINE_DOCUMENT = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]}'
)
# What runs in the rule's Lambda: its entry, the package modules it imports, and rdklib.
RULE_SOURCES = [
    Path("rules/IAM_USER_NO_DIRECT_POLICIES"),
    Path("no_direct_policies/compliance.py"),
    Path("no_direct_policies/rule_event.py"),
    Path("no_direct_policies/evaluation_answers.py"),
    Path(boto3.__file__).parent.parent / "rdklib",
]


def _group_arn(spec, document) -> str:
    path = group_path(spec, document)
    return f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:group{path}*"


@pytest.fixture(params=["account.yaml", "stackset.yaml"])
def roles_template(request, templates):
    """Each template that declares the roles."""
    return templates[request.param]


# --- Checks that hold for every template ---------------------------------


def test_no_role_allows_a_wildcard_action(templates):
    for name, template in templates.items():
        assert wildcard_actions(template) == [], name


def test_wildcard_check_catches_star_and_not_action():
    template = _role_template(
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:GetUser"], "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:DeleteUser", "Resource": "*"},
    )
    assert wildcard_actions(template) == [
        "Role: iam:Get*",
        "Role: NotAction iam:DeleteUser",
    ]


def test_group_writes_are_scoped_to_the_remediation_group_path(roles_template, spec, document):
    assert group_path(spec, document) == "/config-remediation/"
    assert unscoped_group_writes(roles_template, _group_arn(spec, document)) == []
    assert role_actions(roles_template, "HelperRole") >= {
        "iam:CreateGroup",
        "iam:AttachGroupPolicy",
        "iam:AddUserToGroup",
    }


def test_group_scope_check_catches_a_group_write_on_every_group(spec, document):
    template = _role_template(
        {
            "Effect": "Allow",
            "Action": ["iam:AttachGroupPolicy", "iam:GetGroup"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*"},
        }
    )
    assert unscoped_group_writes(template, _group_arn(spec, document)) == [
        "Role: iam:AttachGroupPolicy on "
        "[{'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*'}]"
    ]


def test_user_writes_are_scoped_to_users(roles_template):
    users = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"}
    for action in ("iam:DetachUserPolicy", "iam:DeleteUserPolicy"):
        assert statement_resources(roles_template, "HelperRole", action) == [users]


# --- The rule's role -------------------------------------------------------


def test_rule_role_allows_exactly_the_calls_of_the_rule_and_rdklib(roles_template):
    called = _aws_calls_in_source(RULE_SOURCES, ("config", "iam"))
    assert called == {
        "config:PutEvaluations",
        "config:GetResourceConfigHistory",
        "config:GetComplianceDetailsByConfigRule",
        "iam:GetAccountAuthorizationDetails",
    }
    # Lambda itself sends a failed event to the dead-letter queue, as the function's role.
    assert role_actions(roles_template, "RuleRole") == called | {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
    }
    # AssumeRoleMode false: the rule never assumes Config's role.
    assert not any(a.startswith("sts:") for a in role_actions(roles_template, "RuleRole"))


def test_rule_role_writes_only_its_own_log_group(roles_template):
    own_group = {"Fn::GetAtt": ["RuleLogGroup", "Arn"]}
    assert statement_resources(roles_template, "RuleRole", "logs:PutLogEvents") == [own_group]


def test_rule_role_sends_only_to_its_own_dead_letter_queue(roles_template):
    own_queue = {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}
    assert statement_resources(roles_template, "RuleRole", "sqs:SendMessage") == [own_queue]


# --- The helper's role: measured against the helper itself --------------


def test_helper_role_allows_exactly_the_iam_and_config_calls_the_helper_makes(
    roles_template, helper_calls
):
    allowed = {
        a for a in role_actions(roles_template, "HelperRole") if a.startswith(("iam:", "config:"))
    }
    assert allowed == helper_calls
    assert "config:ListDiscoveredResources" in helper_calls


def test_helper_role_reads_config_on_every_resource_as_config_requires(roles_template):
    # ListDiscoveredResources has no resource-level permissions.
    assert statement_resources(roles_template, "HelperRole", "config:ListDiscoveredResources") == [
        "*"
    ]


def test_every_group_the_helper_writes_lies_under_the_allowed_path(helper_run, spec, document):
    groups_written = {
        params["GroupName"]
        for operation, params in helper_run["calls"]
        if f"iam:{operation}" in GROUP_WRITE_ACTIONS
    }
    assert groups_written
    assert groups_written <= helper_run["group_paths"].keys()
    paths = {helper_run["group_paths"][g] for g in groups_written}
    assert paths == {group_path(spec, document)}


# --- The automation role and who may invoke the helper ------------------


def test_automation_role_invokes_only_the_helper_and_reads_what_the_document_verifies(
    roles_template, document
):
    verify = {
        *automation_verify_permissions(document),
        *automation_verify_permissions(build.load_restore_document()),
    }
    assert verify, "the document has no verify step"
    assert all(action.startswith("iam:Get") or ":List" in action for action in verify)
    assert role_actions(roles_template, "AutomationRole") == {"lambda:InvokeFunction", *verify}
    assert statement_resources(roles_template, "AutomationRole", "lambda:InvokeFunction") == [
        {"Fn::GetAtt": ["HelperFunction", "Arn"]}
    ]


def test_only_the_automation_role_may_invoke_the_helper(roles_template):
    resources = roles_template["Resources"]
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"] == {"Fn::GetAtt": ["HelperFunction", "Arn"]}
    ]
    assert permissions == [
        {
            "FunctionName": {"Fn::GetAtt": ["HelperFunction", "Arn"]},
            "Action": "lambda:InvokeFunction",
            "Principal": {"Fn::GetAtt": ["AutomationRole", "Arn"]},
        }
    ]
    invokers = {
        role
        for role in ("RuleRole", "HelperRole", "AutomationRole")
        if "lambda:InvokeFunction" in role_actions(roles_template, role)
    }
    assert invokers == {"AutomationRole"}


def test_roles_trust_only_their_service_in_this_account(roles_template):
    expected = {
        "RuleRole": "lambda.amazonaws.com",
        "HelperRole": "lambda.amazonaws.com",
        "AutomationRole": "ssm.amazonaws.com",
    }
    for role, service in expected.items():
        trust = roles_template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": service}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Condition"]["StringEquals"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }


def test_config_may_invoke_the_rule_only_for_this_account(roles_template):
    permission = roles_template["Resources"]["RulePermission"]["Properties"]
    assert permission["Principal"] == "config.amazonaws.com"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


# --- Helpers ---------------------------------------------------------------


def _role_template(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [
                        {"PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}
                    ]
                },
            }
        }
    }


def _aws_calls_in_source(sources: list[Path], services: tuple[str, ...]) -> set[str]:
    """``service:Operation`` for every ``.operation_name(`` call of those services in the code."""
    session = boto3.session.Session(region_name="us-east-1")
    operations = {
        xform_name(op): f"{service}:{op}"
        for service in services
        for op in session.client(service).meta.service_model.operation_names
    }
    calls = set()
    for source in sources:
        for path in [source] if source.is_file() else source.glob("**/*.py"):
            if path.name.endswith("_test.py"):
                continue
            for name in re.findall(r"\.([a-z_]+)\(", path.read_text(encoding="utf-8")):
                if name in operations:
                    calls.add(operations[name])
    return calls


def _run(
    iam, calls: list, payload: dict[str, Any], *, undo: bool = False
) -> dict[str, Any] | RemediationError:
    def record(model, params, **_):
        calls.append((model.name, dict(params)))

    iam.meta.events.register("before-parameter-build.iam", record)
    try:
        if undo:
            return restore_user_policies(iam, parse_undo_payload(payload), sleep=lambda _: None)
        return move_user_policies(iam, parse_payload(payload), sleep=lambda _: None)
    except RemediationError as error:
        return error
    finally:
        iam.meta.events.unregister("before-parameter-build.iam", record)


def _user(iam, name: str, arns: list[str], inline: bool = False) -> str:
    user_id = iam.create_user(UserName=name)["User"]["UserId"]
    for arn in arns:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if inline:
        iam.put_user_policy(UserName=name, PolicyName="reports", PolicyDocument=INLINE_DOCUMENT)
    return user_id


def _delete_user(iam, name: str) -> None:
    for policy in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy_name)
    iam.delete_user(UserName=name)


@pytest.fixture
def helper_run(iam, monkeypatch) -> dict[str, Any]:
    """Every path of the helper, run against moto, with the IAM and Config calls it made."""
    calls: list[tuple[str, dict[str, Any]]] = []
    config_calls: list[str] = []
    config = boto3.client("config", region_name="us-east-1")
    config.meta.events.register(
        "before-call.config.*", lambda model, **_: config_calls.append(model.name)
    )
    # moto's Config has recorded no user: each lookup by ID asks Config, then lists users.
    monkeypatch.setattr(iam_reads, "new_config_client", lambda: config)
    alice = _user(iam, "alice", [S3_FULL, READ_ONLY], inline=True)
    bob = _user(iam, "bob", [S3_FULL, READ_ONLY])
    carol = _user(iam, "carol", [S3_FULL, READ_ONLY])
    _user(iam, "dave", [S3_FULL])
    erin = _user(iam, "erin", [READ_ONLY], inline=True)
    outcomes = [
        _run(iam, calls, {"IAMResourceId": alice, "MoveInlinePolicies": True}),
        _run(iam, calls, {"IAMResourceId": bob}),
        _run(iam, calls, {"IAMResourceId": carol}),  # reuses bob's group
        _run(iam, calls, {"UserName": "dave", "DryRun": "true"}),
        _run(iam, calls, {"IAMResourceId": alice, "MoveInlinePolicies": True}),
    ]
    other = boto3.client("iam", region_name="us-east-1")

    def delete_erin(**_):
        _delete_user(other, "erin")

    iam.meta.events.register_first("before-call.iam.AddUserToGroup", delete_erin)
    outcomes.append(_run(iam, calls, {"IAMResourceId": erin, "MoveInlinePolicies": True}))
    iam.meta.events.unregister("before-call.iam.AddUserToGroup", delete_erin)
    frank = _user(iam, "frank", [S3_FULL, READ_ONLY])

    def revoke_from_frank(**_):
        other.detach_user_policy(UserName="frank", PolicyArn=READ_ONLY)

    iam.meta.events.register_first("before-call.iam.AddUserToGroup", revoke_from_frank)
    outcomes.append(_run(iam, calls, {"IAMResourceId": frank}))
    iam.meta.events.unregister("before-call.iam.AddUserToGroup", revoke_from_frank)
    # The undo (RestoreIAMUserPoliciesFromGroups), through every path it has.
    outcomes += [
        _run(iam, calls, {"IAMResourceId": alice}, undo=True),  # inline policies put back
        _run(iam, calls, {"UserName": "bob", "DryRun": True}, undo=True),
        _run(iam, calls, {"UserName": "dave"}, undo=True),  # never remediated
    ]
    (group,) = [g["GroupName"] for g in iam.list_groups_for_user(UserName="carol")["Groups"]]

    reads = []

    def revoke_from_group(**_):  # at the read-back after carol's restores: the run takes it back
        reads.append(1)
        if len(reads) == 2:
            other.detach_group_policy(GroupName=group, PolicyArn=READ_ONLY)

    iam.meta.events.register_first("before-call.iam.ListAttachedUserPolicies", revoke_from_group)
    outcomes.append(_run(iam, calls, {"UserName": "carol"}, undo=True))
    iam.meta.events.unregister("before-call.iam.ListAttachedUserPolicies", revoke_from_group)
    assert outcomes[-1]["RestoredPolicyArns"] == [S3_FULL]  # READ_ONLY was taken back
    statuses = [o["Status"] if isinstance(o, dict) else type(o).__name__ for o in outcomes]
    assert statuses == [
        "MOVED",
        "MOVED",
        "MOVED",
        "PLANNED",
        "NOTHING_TO_MOVE",
        "RemediationStopped",
        "RemediationStopped",
        "RESTORED",
        "PLANNED",
        "NOTHING_TO_RESTORE",
        "RESTORED",
    ]
    return {
        "calls": calls,
        "config_calls": config_calls,
        "group_paths": dict(_created_group_paths(calls)),
    }


def _created_group_paths(calls: list[tuple[str, dict[str, Any]]]):
    for operation, params in calls:
        if operation == "CreateGroup":
            yield params["GroupName"], params.get("Path", "/")


@pytest.fixture
def helper_calls(helper_run) -> set[str]:
    """The IAM and Config actions of every call the helper made on all its paths."""
    return {f"iam:{operation}" for operation, _ in helper_run["calls"]} | {
        f"config:{operation}" for operation in helper_run["config_calls"]
    }


def test_helper_paths_include_taking_back_a_membership_after_a_revocation(helper_calls):
    # Without this path, RemoveUserFromGroup would be granted but never exercised.
    assert "iam:RemoveUserFromGroup" in helper_calls
    # A group may have members at any moment: the helper never strips one.
    assert helper_calls.isdisjoint({"iam:DetachGroupPolicy", "iam:DeleteGroupPolicy"})


def test_the_only_group_the_helper_deletes_is_its_run_lock(helper_run):
    deleted = [params["GroupName"] for op, params in helper_run["calls"] if op == "DeleteGroup"]
    created = [params["GroupName"] for op, params in helper_run["calls"] if op == "CreateGroup"]
    assert deleted
    assert all("-lock-AIDA" in name and name in created for name in deleted)


def test_build_refuses_a_document_without_a_verify_step(spec, document):
    steps = [step for step in document["mainSteps"] if "boto3" not in str(step.get("inputs"))]
    with pytest.raises(ValueError, match="no step that reads AWS"):
        build.render_stackset(spec, {**document, "mainSteps": steps})


def test_build_refuses_a_script_step_that_calls_aws(spec, document):
    script = {"Runtime": "python3.11", "Handler": "h", "Script": "import boto3\n"}
    steps = [
        *document["mainSteps"],
        {"name": "Sneaky", "action": "aws:executeScript", "inputs": script},
    ]
    with pytest.raises(
        ValueError,
        match="step Sneaky calls AWS from a script without declaring REQUIRED_PERMISSIONS",
    ):
        build.render_stackset(spec, {**document, "mainSteps": steps})
