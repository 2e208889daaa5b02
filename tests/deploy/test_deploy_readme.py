"""The README's least-privilege table lists exactly the actions each role has in the templates."""

from __future__ import annotations

import re
from pathlib import Path

from iam_policy_checks import role_actions

README = Path(__file__).resolve().parents[2] / "README.md"
ROLES = ("RuleRole", "HelperRole", "AutomationRole")


def readme_role_actions() -> dict[str, set[str]]:
    """Actions per role from the table under "### Least privilege" (first two columns)."""
    section = README.read_text().split("### Least privilege", 1)[1].split("\n### ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) < 4 or not cells[1].strip().startswith("`"):
            continue
        role = re.match(r"\s*`(\w+)`", cells[1]).group(1)
        table.setdefault(role, set()).update(re.findall(r"`([a-z0-9]+:[A-Za-z]+)`", cells[2]))
    return table


def test_readme_lists_each_roles_actions_exactly(account):
    table = readme_role_actions()
    assert set(table) == set(ROLES)
    for role in ROLES:
        assert table[role] == role_actions(account, role), role


def test_readme_states_that_service_managed_stacksets_skip_the_management_account():
    text = " ".join(README.read_text().split())
    assert "service-managed StackSets never deploy to the management account" in text


def test_readme_states_the_privilege_escalation_risk_and_how_the_design_bounds_it(document):
    section = README.read_text().split("### Least privilege", 1)[1].split("\n### ", 1)[0]
    text = " ".join(section.split())
    group_path = document["parameters"]["GroupPath"]["default"]

    assert "**The privilege-escalation risk.**" in text
    assert "may attach any policy to a group and add any user to that group can grant" in text
    # The three bounds: the path scope, only the user's own policies with exact-match
    # reuse, and who may invoke the helper.
    assert f"`arn:aws:iam::<account>:group{group_path}*`" in text
    assert "the helper moves only policies IAM says the user already has" in text
    assert "reused only when its attached policies equal the moved set exactly" in text
    assert "only `AutomationRole` may invoke the helper" in text


def test_the_organization_section_gives_both_paths_as_commands():
    section = README.read_text().split("### An AWS Organization", 1)[1].split("\n### ", 1)[0]
    commands = " ".join(block for i, block in enumerate(section.split("```")) if i % 2 == 1)
    assert commands.count("make deploy-org ARTIFACT_BUCKET=") == 2
    assert commands.count("REGION=") == 2
    assert "register-delegated-administrator" in commands
    assert "member.org.stacksets.cloudformation.amazonaws.com" in commands
    assert "config-multiaccountsetup.amazonaws.com" in commands
