"""``undo --user NAME ... [--apply]``: the helper's undo from a shell, with remediate's output."""

from __future__ import annotations

import csv
import io
import json

from cli_support import CHANGE_PASSWORD, EC2_READ, S3_FULL, assert_one_line
from test_cli_moto_server import _cli, _iam, moto_server  # noqa: F401 - the fixture


def _direct(iam, user: str) -> set[str]:
    return {
        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    }


def _groups(iam, user: str) -> list[str]:
    return [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]]


def _moved(cli, make_user, iam) -> str:
    make_user("john", S3_FULL, EC2_READ)
    make_user("david", S3_FULL, EC2_READ)
    assert cli("remediate", "--apply").code == 0
    (group,) = _groups(iam, "john")
    return group


def test_dry_run_by_default_shows_the_plan_and_changes_nothing(cli, make_user, iam):
    group = _moved(cli, make_user, iam)

    run = cli("undo", "--user", "john")

    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"john ({iam.get_user(UserName='john')['User']['UserId']}): PLANNED, groups: {group}",
        f"  1. AttachUserPolicy UserName=john PolicyArn={EC2_READ}",
        f"  2. AttachUserPolicy UserName=john PolicyArn={S3_FULL}",
        f"  3. RemoveUserFromGroup GroupName={group} UserName=john",
    ]
    assert _direct(iam, "john") == set()


def test_apply_restores_the_user_and_the_group_keeps_serving_the_others(cli, make_user, iam):
    group = _moved(cli, make_user, iam)

    run = cli("undo", "--user", "john", "--apply", "--format", "json")

    assert run.code == 0, run.stderr
    (result,) = json.loads(run.stdout)["Results"]
    assert result["Status"] == "RESTORED"
    assert result["RestoredPolicyArns"] == [EC2_READ, S3_FULL]
    assert _direct(iam, "john") == {S3_FULL, EC2_READ}
    assert _groups(iam, "john") == []
    assert _groups(iam, "david") == [group]
    again = cli("undo", "--user", "john", "--apply", "--format", "json")
    assert json.loads(again.stdout)["Results"][0]["Status"] == "NOTHING_TO_RESTORE"


def test_csv_and_the_change_log(cli, make_user, iam, tmp_path):
    group = _moved(cli, make_user, iam)
    log = tmp_path / "changes.jsonl"

    run = cli("undo", "--user", "john", "--apply", "--format", "csv", "--log", str(log))

    assert run.code == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [(row["Status"], row["Action"]) for row in rows] == [
        ("RESTORED", "AttachUserPolicy"),
        ("RESTORED", "AttachUserPolicy"),
        ("RESTORED", "RemoveUserFromGroup"),
    ]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["user_name"], line["action"], line["outcome"]) for line in lines] == [
        ("john", "AttachUserPolicy", "ok"),
        ("john", "AttachUserPolicy", "ok"),
        ("john", "RemoveUserFromGroup", "ok"),
    ]
    assert lines[-1]["parameters"] == {"GroupName": group, "UserName": "john"}


def test_a_user_never_remediated_is_not_touched(cli, make_user, iam):
    make_user("bob", CHANGE_PASSWORD)

    run = cli("undo", "--user", "bob", "--apply", "--format", "json")

    assert run.code == 0
    assert json.loads(run.stdout)["Results"][0]["Status"] == "NOTHING_TO_RESTORE"
    assert _direct(iam, "bob") == {CHANGE_PASSWORD}


def test_unknown_user_and_missing_user_are_usage_errors(cli, iam):
    assert "no IAM user named 'ghost'" in assert_one_line(cli("undo", "--user", "ghost"), 2)
    assert "--user" in assert_one_line(cli("undo"), 2)
    assert "--group-path" in assert_one_line(cli("undo", "--user", "x", "--group-path", "no"), 2)


def test_undo_over_http(moto_server):  # noqa: F811 - the fixture
    iam = _iam(moto_server)
    for name in ("carol", "erin"):
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=S3_FULL)
    moved = _cli("remediate", "--apply", AWS_ENDPOINT_URL=moto_server)
    assert moved.returncode == 0, moved.stderr

    undone = _cli(
        "undo", "--user", "carol", "--apply", "--format", "json", AWS_ENDPOINT_URL=moto_server
    )

    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["Results"][0]["Status"] == "RESTORED"
    assert _direct(iam, "carol") == {S3_FULL}
    assert _groups(iam, "carol") == []
    assert len(_groups(iam, "erin")) == 1
