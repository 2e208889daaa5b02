"""--exempt-user-tags: the rule's ExemptUserTags on the command line, for audit and remediate."""

from __future__ import annotations

import json

from cli_support import S3_FULL, assert_one_line


def test_audit_and_remediate_leave_tagged_users_alone(cli, iam, make_user):
    make_user("deploy-bot", S3_FULL)
    iam.tag_user(UserName="deploy-bot", Tags=[{"Key": "ManagedBy", "Value": "terraform"}])
    make_user("john", S3_FULL)

    audit = cli("audit", "--format", "json", "--exempt-user-tags", "managedby=terraform")
    rows = {row["UserName"]: row for row in json.loads(audit.stdout)["Users"]}
    plan = cli("remediate", "--exempt-user-tags", "ManagedBy", "--format", "json")

    assert rows["deploy-bot"]["ComplianceType"] == "NOT_APPLICABLE"
    assert "ExemptUserTags" in rows["deploy-bot"]["Annotation"]
    assert rows["john"]["ComplianceType"] == "NON_COMPLIANT"
    assert "deploy-bot" not in plan.stdout
    assert "john" in plan.stdout


def test_a_bad_tag_names_the_option(cli):
    run = cli("audit", "--exempt-user-tags", "Team#ops")

    line = assert_one_line(run, 2)
    assert "ExemptUserTags holds 'Team#ops'" in line
    assert line.endswith("(command-line option --exempt-user-tags)\n") or line.endswith(
        "(command-line option --exempt-user-tags)"
    )
