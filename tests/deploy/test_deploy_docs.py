"""docs/deployment.md restates the roles' actions, the group path and the make targets'
required variables; each is compared here with the templates, the document and the Makefile."""

from __future__ import annotations

import re

import doc_tables
import pytest
from iam_policy_checks import role_actions

DOC = "deployment"
ROLES = ("RuleRole", "HelperRole", "AutomationRole")
GROUP_WRITES = {
    "iam:CreateGroup",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
    "iam:AddUserToGroup",
    "iam:RemoveUserFromGroup",
    "iam:DeleteGroup",  # only the run's own lock group
}


def documented_role_actions() -> dict[str, set[str]]:
    """Actions per role from the least-privilege table."""
    table: dict[str, set[str]] = {}
    for row in doc_tables.table(DOC, "Least privilege"):
        role = doc_tables.code_names(row["role"])[0]
        table.setdefault(role, set()).update(doc_tables.code_names(row["action"]))
    return table


def test_least_privilege_table_lists_each_roles_actions_exactly(account):
    table = documented_role_actions()
    assert set(table) == set(ROLES)
    for role in ROLES:
        assert table[role] == role_actions(account, role), role


def test_group_writing_actions_are_documented_on_the_remediations_group_path_only(document):
    group_path = document["parameters"]["GroupPath"]["default"]
    rows = [
        row
        for row in doc_tables.table(DOC, "Least privilege")
        if GROUP_WRITES & set(doc_tables.code_names(row["action"]))
    ]

    assert {action for row in rows for action in doc_tables.code_names(row["action"])} == (
        GROUP_WRITES
    )
    assert [doc_tables.code_names(row["resource"]) for row in rows] == [[f"group{group_path}*"]]


def _preflight_variables(target: str) -> set[str]:
    """The variables the Makefile's target hands to deploy/require-aws.sh to check."""
    makefile = (doc_tables.ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(rf"deploy/require-aws\.sh {re.escape(target)}( [^\n]*)", makefile)
    assert match, target
    return set(re.findall(r'([A-Z_]+)="\$\(\1\)"', match.group(1)))


def _documented_make_commands() -> list[str]:
    """Every ``make ...`` line of the guide's sh blocks, continuation lines joined."""
    return [
        line.split("#", 1)[0].strip()
        for block in doc_tables.code_blocks(DOC, "Deployment", "sh")
        for line in block.replace("\\\n", " ").splitlines()
        if line.startswith("make ")
    ]


@pytest.mark.parametrize("target", ["deploy", "deploy-org"])
def test_every_documented_make_command_sets_the_variables_its_preflight_requires(target):
    required = _preflight_variables(target)
    commands = [command for command in _documented_make_commands() if command.split()[1] == target]

    assert required
    assert commands
    for command in commands:
        assert required <= set(re.findall(r"\b([A-Z_]+)=", command)), command
