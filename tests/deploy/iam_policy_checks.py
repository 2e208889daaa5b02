"""Checks over the IAM policies of a CloudFormation template, used by the least-privilege tests.

Each check returns the offending statements as readable strings, so a test
asserts an empty list and a failure names the role, the action and the resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# IAM actions that change a group or its membership: only the remediation's own
# groups may be their target.
GROUP_WRITE_ACTIONS = frozenset(
    {
        "iam:CreateGroup",
        "iam:UpdateGroup",
        "iam:DeleteGroup",
        "iam:AttachGroupPolicy",
        "iam:DetachGroupPolicy",
        "iam:PutGroupPolicy",
        "iam:DeleteGroupPolicy",
        "iam:AddUserToGroup",
        "iam:RemoveUserFromGroup",
    }
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(role logical ID, statement)`` for every statement of every role's inline policies."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield logical_id, statement


def role_actions(template: dict[str, Any], role: str) -> set[str]:
    """Every action the role's policies allow."""
    return {
        action
        for logical_id, statement in role_statements(template)
        if logical_id == role
        for action in _as_list(statement["Action"])
    }


def wildcard_actions(template: dict[str, Any]) -> list[str]:
    """Statements that allow a ``*`` in an action, or use NotAction (its inverse)."""
    found = []
    for role, statement in role_statements(template):
        if "NotAction" in statement:
            found.append(f"{role}: NotAction {statement['NotAction']}")
        found += [
            f"{role}: {action}" for action in _as_list(statement.get("Action", [])) if "*" in action
        ]
    return found


def unscoped_group_writes(template: dict[str, Any], group_arn: str) -> list[str]:
    """Group-writing actions in statements whose only resource is not ``group_arn``."""
    found = []
    for role, statement in role_statements(template):
        writes = GROUP_WRITE_ACTIONS.intersection(_as_list(statement["Action"]))
        resources = _as_list(statement.get("Resource", []))
        if writes and resources != [{"Fn::Sub": group_arn}]:
            found += [f"{role}: {action} on {resources}" for action in sorted(writes)]
    return found


def statement_resources(template: dict[str, Any], role: str, action: str) -> list[Any]:
    """The resources of every statement of ``role`` that allows ``action``."""
    return [
        resource
        for logical_id, statement in role_statements(template)
        if logical_id == role and action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    ]
