"""``remediate --apply --log FILE``: one JSON line per IAM change, with IAM's answer."""

from __future__ import annotations

import json
from typing import Any

from botocore.awsrequest import AWSResponse
from cli_support import S3_FULL

from no_direct_policies.cli import main as cli_module
from no_direct_policies.simulation.account import ACCOUNT_ID


def read_log(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_change_is_one_line_with_its_user_and_outcome(cli, iam, make_user, tmp_path):
    john = make_user("john", S3_FULL)
    log = tmp_path / "changes.jsonl"

    run = cli("remediate", "--apply", "--log", str(log), "--format", "json")

    assert run.code == 0
    group = json.loads(run.stdout)["Results"][0]["Groups"][0]
    lock = f"MovedPolicies-lock-{john['UserId']}"  # the run lock: created first, deleted last
    lines = read_log(log)
    assert [(line["action"], line["parameters"], line["outcome"]) for line in lines] == [
        ("CreateGroup", {"GroupName": lock, "Path": "/config-remediation/"}, "ok"),
        ("CreateGroup", {"GroupName": group, "Path": "/config-remediation/"}, "ok"),
        ("AttachGroupPolicy", {"GroupName": group, "PolicyArn": S3_FULL}, "ok"),
        ("AddUserToGroup", {"GroupName": group, "UserName": "john"}, "ok"),
        ("DetachUserPolicy", {"UserName": "john", "PolicyArn": S3_FULL}, "ok"),
        ("DeleteGroup", {"GroupName": lock}, "ok"),
    ]
    for line in lines:
        assert (line["account"], line["user_name"], line["user_id"]) == (
            ACCOUNT_ID,
            "john",
            john["UserId"],
        )
        assert line["time"].endswith("+00:00")


def test_log_is_appended_to_and_a_dry_run_adds_nothing(cli, make_user, tmp_path):
    make_user("john", S3_FULL)
    log = tmp_path / "changes.jsonl"
    log.write_text('{"earlier": "run"}\n')

    cli("remediate", "--log", str(log))
    assert log.read_text() == '{"earlier": "run"}\n'

    cli("remediate", "--apply", "--log", str(log))
    assert log.read_text().startswith('{"earlier": "run"}\n{"time": ')


def test_refused_call_is_logged_with_the_error_code(cli, make_user, tmp_path, monkeypatch):
    make_user("john", S3_FULL)
    real_factory = cli_module.iam_client

    def deny(**_: Any):
        return AWSResponse("https://iam.amazonaws.com/", 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": "no"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    def factory(**kwargs: Any) -> Any:
        client = real_factory(**kwargs)
        client.meta.events.register("before-call.iam.AddUserToGroup", deny)
        return client

    monkeypatch.setattr(cli_module, "iam_client", factory)
    log = tmp_path / "changes.jsonl"

    run = cli("remediate", "--apply", "--log", str(log))

    # An AWS error after a first change is a stop part-way that names it.
    assert run.code == 5
    assert "STOPPED: AWS error AccessDenied on AddUserToGroup" in run.stdout
    assert [(line["action"], line["outcome"]) for line in read_log(log)] == [
        ("CreateGroup", "ok"),  # the run lock
        ("CreateGroup", "ok"),
        ("AttachGroupPolicy", "ok"),
        ("AddUserToGroup", "AccessDenied"),
        ("DeleteGroup", "ok"),  # the run lock, released
    ]


def test_log_that_cannot_be_opened_is_a_usage_error_before_any_change(
    cli, iam, make_user, tmp_path
):
    make_user("john", S3_FULL)

    run = cli("remediate", "--apply", "--log", str(tmp_path / "missing" / "changes.jsonl"))

    assert run.code == 2
    assert run.stderr.startswith("error: cannot open the change log ")
    assert iam.list_groups()["Groups"] == []
