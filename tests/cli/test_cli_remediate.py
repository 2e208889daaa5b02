"""``remediate``: the helper's plan by default, its result with ``--apply``."""

from __future__ import annotations

import csv
import io
import json
import os
import signal

import pytest
from botocore.exceptions import ClientError
from cli_support import CHANGE_PASSWORD, EC2_READ, S3_FULL

from no_direct_policies.cli import main as cli_module
from no_direct_policies.move.plan import RemediationRefused, RemediationStopped


def iam_snapshot(iam) -> dict:
    """Everything remediation could change: users' policies and groups, groups' contents."""
    users = {
        user["UserName"]: (
            sorted(
                p["PolicyArn"]
                for p in iam.list_attached_user_policies(UserName=user["UserName"])[
                    "AttachedPolicies"
                ]
            ),
            sorted(iam.list_user_policies(UserName=user["UserName"])["PolicyNames"]),
            sorted(
                g["GroupName"]
                for g in iam.list_groups_for_user(UserName=user["UserName"])["Groups"]
            ),
        )
        for user in iam.list_users()["Users"]
    }
    groups = {
        group["Path"] + group["GroupName"]: (
            sorted(
                p["PolicyArn"]
                for p in iam.list_attached_group_policies(GroupName=group["GroupName"])[
                    "AttachedPolicies"
                ]
            ),
            sorted(iam.list_group_policies(GroupName=group["GroupName"])["PolicyNames"]),
            sorted(u["UserName"] for u in iam.get_group(GroupName=group["GroupName"])["Users"]),
        )
        for group in iam.list_groups()["Groups"]
    }
    return {"users": users, "groups": groups}


def attached(iam, user_name: str) -> list[str]:
    response = iam.list_attached_user_policies(UserName=user_name)
    return sorted(policy["PolicyArn"] for policy in response["AttachedPolicies"])


def results_by_user(run) -> dict[str, dict]:
    return {result["UserName"]: result for result in json.loads(run.stdout)["Results"]}


@pytest.fixture
def seed(make_user):
    """The seed's case: john, david and mark with AmazonS3FullAccess; alice compliant."""
    make_user("john", S3_FULL)
    make_user("david", S3_FULL)
    make_user("mark", S3_FULL)
    make_user("alice")


def test_plan_is_the_default_and_changes_nothing(cli, iam, seed):
    before = iam_snapshot(iam)

    run = cli("remediate", "--format", "json")

    assert run.code == 0
    results = results_by_user(run)
    assert sorted(results) == ["david", "john", "mark"]  # every NON_COMPLIANT user, not alice
    john = results["john"]
    group = john["Groups"][0]
    assert john["Status"] == "PLANNED"
    assert john["MovedPolicyArns"] == [S3_FULL]
    assert john["Actions"] == [
        {"Action": "CreateGroup", "GroupName": group, "Path": "/config-remediation/"},
        {"Action": "AttachGroupPolicy", "GroupName": group, "PolicyArn": S3_FULL},
        {"Action": "AddUserToGroup", "GroupName": group, "UserName": "john"},
        {"Action": "DetachUserPolicy", "UserName": "john", "PolicyArn": S3_FULL},
    ]
    assert iam_snapshot(iam) == before


def test_apply_executes_the_plan_and_prints_the_helpers_result(cli, iam, seed):
    plan = results_by_user(cli("remediate", "--format", "json"))

    run = cli("remediate", "--apply", "--format", "json")

    assert run.code == 0
    applied = results_by_user(run)
    group = plan["john"]["Groups"][0]
    for name in ("john", "david", "mark"):
        assert applied[name]["Status"] == "MOVED"
        assert applied[name]["Groups"] == [group]  # one shared group for one policy set
        assert attached(iam, name) == []
    assert applied["john"]["Actions"] == plan["john"]["Actions"]
    members = iam.get_group(GroupName=group)
    assert sorted(user["UserName"] for user in members["Users"]) == ["david", "john", "mark"]
    group_policies = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in group_policies] == [S3_FULL]
    assert json.loads(run.stdout)["Refused"] == []


def test_apply_again_finds_nothing_to_remediate(cli, seed):
    cli("remediate", "--apply")

    run = cli("remediate", "--apply")

    assert run.code == 0
    assert run.stdout == "No user to remediate.\n"


def test_repeated_user_option_moves_only_those_users(cli, iam, seed):
    run = cli("remediate", "--apply", "--user", "john", "--user", "mark", "--format", "json")

    assert run.code == 0
    assert sorted(results_by_user(run)) == ["john", "mark"]
    assert attached(iam, "john") == attached(iam, "mark") == []
    assert attached(iam, "david") == [S3_FULL]


def test_named_compliant_user_gets_nothing_to_move(cli, seed):
    run = cli("remediate", "--apply", "--user", "alice", "--format", "json")

    assert run.code == 0
    assert results_by_user(run)["alice"]["Status"] == "NOTHING_TO_MOVE"
    assert results_by_user(run)["alice"]["Actions"] == []


def test_named_exempt_user_is_skipped_and_untouched(cli, iam, seed):
    run = cli("remediate", "--apply", "--user", "john", "--exempt-user-names", "john")

    assert run.code == 0
    assert run.stdout == "No user to remediate.\n"
    assert run.stderr == (
        "john: skipped, the rule exempts it: "
        "User john is exempt: listed in the rule parameter ExemptUserNames.\n"
    )
    assert attached(iam, "john") == [S3_FULL]


def test_exempt_users_are_not_selected_by_default(cli, seed):
    run = cli("remediate", "--exempt-user-names", "john,david", "--format", "json")

    assert sorted(results_by_user(run)) == ["mark"]


def test_unknown_user_is_a_usage_error_before_any_change(cli, iam, seed):
    before = iam_snapshot(iam)

    run = cli("remediate", "--apply", "--user", "john", "--user", "ghost")

    assert run.code == 2
    assert run.stderr == (
        "error: no IAM user named 'ghost' in this account: check --user "
        "(user names are case-sensitive)\n"
    )
    assert iam_snapshot(iam) == before


def test_group_path_and_name_prefix_reach_the_helper(cli, seed):
    run = cli(
        "remediate",
        "--user",
        "john",
        "--group-path",
        "/config-remediation/team-a/",
        "--group-name-prefix",
        "TeamA",
        "--format",
        "json",
    )

    create = results_by_user(run)["john"]["Actions"][0]
    assert create["Action"] == "CreateGroup"
    assert create["Path"] == "/config-remediation/team-a/"
    assert create["GroupName"].startswith("TeamAAmazonS3FullAccess")


def test_exempt_policy_stays_on_the_user(cli, iam, make_user):
    make_user("mark", S3_FULL, CHANGE_PASSWORD)

    run = cli("remediate", "--apply", "--exempt-policy-arns", CHANGE_PASSWORD, "--format", "json")

    assert results_by_user(run)["mark"]["MovedPolicyArns"] == [S3_FULL]
    assert attached(iam, "mark") == [CHANGE_PASSWORD]


def test_move_inline_policies_moves_them_to_the_group(cli, iam, make_user):
    make_user("carol", EC2_READ, inline=("s3-list",))

    run = cli(
        "remediate",
        "--apply",
        "--check-inline-policies",
        "--move-inline-policies",
        "--format",
        "json",
    )

    carol = results_by_user(run)["carol"]
    assert carol["Status"] == "MOVED"
    assert iam.list_user_policies(UserName="carol")["PolicyNames"] == []
    group = carol["Groups"][0]
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["s3-list"]
    assert attached(iam, "carol") == []


def test_refusal_exits_4_with_one_line_and_changes_nothing(cli, iam, make_user):
    make_user("crowded", S3_FULL)
    for index in range(10):  # GroupsPerUserQuota: no room for the group it needs
        iam.create_group(GroupName=f"team-{index}")
        iam.add_user_to_group(GroupName=f"team-{index}", UserName="crowded")
    make_user("john", S3_FULL)
    before = iam_snapshot(iam)

    run = cli("remediate", "--user", "crowded", "--apply", "--format", "json")

    assert run.code == 4
    refused = json.loads(run.stdout)["Refused"]
    assert [refusal["UserName"] for refusal in refused] == ["crowded"]
    assert run.stderr == (
        f"remediate: crowded ({refused[0]['UserId']}): REFUSED\n"
        f"error: crowded: Refused: {refused[0]['Error']}\n"
        "Applied: 0 users moved, 0 IAM changes made (0 groups created; run locks not counted); "
        "1 refused, 0 stopped part-way\n"
    )
    assert "10" in refused[0]["Error"]
    assert iam_snapshot(iam) == before


def test_table_shows_each_users_numbered_actions(cli, seed):
    run = cli("remediate", "--user", "john")

    lines = run.stdout.splitlines()
    assert lines[0].startswith("john (AIDA")
    assert ": PLANNED, groups: " in lines[0]
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["1.", "CreateGroup"],
        ["2.", "AttachGroupPolicy"],
        ["3.", "AddUserToGroup"],
        ["4.", "DetachUserPolicy"],
    ]
    assert lines[4].endswith(f"UserName=john PolicyArn={S3_FULL}")
    assert lines[5:] == [
        "",
        "Plan: 1 users to move, 4 IAM changes (1 groups to create); nothing was changed, "
        "add --apply to make them",
    ]


def test_csv_has_one_row_per_action(cli, seed):
    run = cli("remediate", "--user", "john", "--format", "csv")

    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == ["UserName", "UserId", "Status", "Step", "Action", "Parameters"]
    assert [(row[0], row[2], row[3], row[4]) for row in rows[1:]] == [
        ("john", "PLANNED", "1", "CreateGroup"),
        ("john", "PLANNED", "2", "AttachGroupPolicy"),
        ("john", "PLANNED", "3", "AddUserToGroup"),
        ("john", "PLANNED", "4", "DetachUserPolicy"),
    ]
    assert json.loads(rows[4][5]) == {"PolicyArn": S3_FULL, "UserName": "john"}


@pytest.mark.parametrize(
    ("option", "value"),
    [("--group-path", "config-remediation"), ("--group-name-prefix", "bad prefix!")],
)
def test_bad_helper_option_is_a_usage_error_before_any_change(cli, iam, seed, option, value):
    before = iam_snapshot(iam)

    run = cli("remediate", "--apply", option, value)

    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.startswith("error: ")
    assert repr(value) in run.stderr
    assert run.stderr.endswith(f"(command-line option {option})\n")
    assert iam_snapshot(iam) == before


def test_aws_error_mid_run_shows_what_was_done_then_one_line(cli, iam, seed, monkeypatch):
    real_factory = cli_module.iam_client

    def deny_mark(params, **_):
        if params.get("UserName") == "mark":
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not for mark"}}, "AddUserToGroup"
            )

    def factory(**kwargs):
        client = real_factory(**kwargs)
        client.meta.events.register("before-parameter-build.iam.AddUserToGroup", deny_mark)
        return client

    monkeypatch.setattr(cli_module, "iam_client", factory)

    run = cli("remediate", "--apply", "--user", "john", "--user", "mark", "--format", "json")

    assert run.code == 3
    assert [result["UserName"] for result in json.loads(run.stdout)["Results"]] == ["john"]
    assert attached(iam, "john") == []
    assert attached(iam, "mark") == [S3_FULL]  # the helper detaches only after the user is in
    assert run.stderr == (
        f"remediate: john ({json.loads(run.stdout)['Results'][0]['UserId']}): MOVED\n"
        "error: access denied to iam:AddUserToGroup (AccessDenied): grant iam:AddUserToGroup "
        "to the caller. not for mark\n"
    )


@pytest.fixture
def helper_fails_for(monkeypatch):
    """Make the helper raise ``error`` for the users named, and run normally for the others."""
    from no_direct_policies.cli import remediate

    failing: dict[str, Exception] = {}
    real = remediate.move_read_user

    def move(iam_client, user, options, **kwargs):
        if user.user_name in failing:
            raise failing[user.user_name]
        return real(iam_client, user, options, **kwargs)

    monkeypatch.setattr(remediate, "move_read_user", move)
    return failing


def test_refused_user_is_reported_refused_and_exits_4(cli, seed, helper_fails_for):
    helper_fails_for["john"] = RemediationRefused("John is refused: quota.")

    run = cli("remediate", "--apply", "--format", "json")

    assert run.code == 4
    document = json.loads(run.stdout)
    assert [(f["UserName"], f["Outcome"]) for f in document["Refused"]] == [("john", "REFUSED")]
    assert document["Stopped"] == []
    assert sorted(results_by_user(run)) == ["david", "mark"]
    assert "error: john: Refused: John is refused: quota.\n" in run.stderr


def test_stopped_user_is_reported_stopped_and_exits_5(cli, seed, helper_fails_for):
    helper_fails_for["john"] = RemediationStopped("Group G left in place without members.")
    helper_fails_for["david"] = RemediationRefused("David is refused.")

    run = cli("remediate", "--apply", "--format", "json")

    assert run.code == 5  # a stop part-way outranks a refusal: IAM was changed
    document = json.loads(run.stdout)
    assert [(f["UserName"], f["Outcome"]) for f in document["Stopped"]] == [("john", "STOPPED")]
    assert [f["UserName"] for f in document["Refused"]] == ["david"]
    assert sorted(results_by_user(run)) == ["mark"]
    assert "error: john: Stopped part-way: Group G left in place without members.\n" in run.stderr


def test_table_labels_each_failure_refused_or_stopped(cli, iam, seed, helper_fails_for):
    helper_fails_for["john"] = RemediationStopped("Stopped here.")
    helper_fails_for["david"] = RemediationRefused("Refused here.")
    ids = {user["UserName"]: user["UserId"] for user in iam.list_users()["Users"]}

    run = cli("remediate", "--apply", "--user", "john", "--user", "david")

    assert run.code == 5
    blocks = run.stdout.split("\n\n")
    assert blocks[0] == f"john ({ids['john']}): STOPPED: Stopped here."
    assert blocks[1] == f"david ({ids['david']}): REFUSED: Refused here."
    assert blocks[2] == (
        "Applied: 0 users moved, 0 IAM changes made (0 groups created; run locks not counted); "
        "1 refused, 1 stopped part-way\n"
    )


def test_a_name_iam_would_reject_is_refused_not_an_internal_error(cli, iam, make_user):
    # moto accepts a user name IAM would refuse; the helper's payload check refuses it.
    make_user("@SUM(A1)", S3_FULL)
    before = iam_snapshot(iam)

    run = cli("remediate", "--user", "@SUM(A1)", "--apply", "--format", "json")

    assert run.code == 4
    refused = json.loads(run.stdout)["Refused"]
    assert [refusal["UserName"] for refusal in refused] == ["@SUM(A1)"]
    assert "UserName" in refused[0]["Error"]
    assert iam_snapshot(iam) == before


def test_a_second_signal_during_a_take_back_lets_it_finish(cli, iam, make_user, monkeypatch):
    from no_direct_policies.move import executor

    make_user("alice", S3_FULL, EC2_READ)
    joined, leave = executor.MoveRun._check_joined, executor.MoveRun._leave_group

    def revoke_then_check(self, group):
        iam.detach_user_policy(UserName="alice", PolicyArn=EC2_READ)  # someone revokes it
        return joined(self, group)

    def ctrl_c_twice_then_leave(self, group, grants):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        return leave(self, group, grants)

    monkeypatch.setattr(executor.MoveRun, "_check_joined", revoke_then_check)
    monkeypatch.setattr(executor.MoveRun, "_leave_group", ctrl_c_twice_then_leave)

    run = cli("remediate", "--apply", "--user", "alice", "--format", "json")

    assert iam.list_groups_for_user(UserName="alice")["Groups"] == []  # taken back
    assert attached(iam, "alice") == [S3_FULL]  # the revocation stands, nothing else moved
    assert run.code == 5, run.stderr  # stopped part-way by the take-back, not cut short
    assert "Removed alice from" in run.stderr


def test_the_plans_summary_counts_the_changes_the_apply_makes(cli, iam, make_user):
    make_user("john", S3_FULL)
    make_user("david", S3_FULL)  # the same set: one group for both

    plan = cli("remediate", "--format", "json")
    planned = json.loads(plan.stdout)["Results"]
    apply = cli("remediate", "--apply", "--format", "json")
    applied = json.loads(apply.stdout)["Results"]

    assert [result["Actions"] for result in planned] == [r["Actions"] for r in applied]
    made = sum(len(result["Actions"]) for result in applied)
    assert f"Plan: 2 users to move, {made} IAM changes (1 groups to create)" in plan.stderr
    assert f"Applied: 2 users moved, {made} IAM changes made (1 groups created" in apply.stderr


def _plan_as_drawn(cli, iam, user: str) -> tuple[list[dict], list[dict], list[dict]]:
    """The plan of one user: the results, the HTML picture with what the account's read
    says each group carries, and the picture without it."""
    from no_direct_policies.cli import audit
    from no_direct_policies.cli.remediate import account_snapshot, plan_picture

    details = audit.AccountDetails()
    list(audit.iter_user_details(iam, keep=details))
    snapshot = account_snapshot(iam, details)
    results = json.loads(cli("remediate", "--user", user, "--format", "json").stdout)["Results"]
    known = plan_picture(results, lambda _result, group: snapshot.carried(group))
    return results, known, plan_picture(results)


def test_the_html_plan_shows_what_an_existing_group_carries(cli, iam, make_user):
    iam.create_group(GroupName="storage")
    iam.attach_group_policy(GroupName="storage", PolicyArn=S3_FULL)
    make_user("david", S3_FULL, EC2_READ)
    iam.add_user_to_group(GroupName="storage", UserName="david")

    _, picture, without = _plan_as_drawn(cli, iam, "david")

    assert picture[0]["GroupPolicies"]["storage"] == [S3_FULL]
    assert without[0]["GroupPolicies"]["storage"] == []  # unknown: nothing is made up
    html = cli("remediate", "--user", "david", "--format", "html").stdout
    assert "storage" in html


def test_the_html_plan_shows_all_a_group_it_completes_carries(cli, iam, make_user):
    # An interrupted run's group holding part of its set, no members: shown with what it
    # carries already and what the plan adds.
    from no_direct_policies.move.plan import group_name

    group = group_name("MovedPolicies-", [EC2_READ, S3_FULL], [])
    iam.create_group(GroupName=group, Path="/config-remediation/")
    iam.attach_group_policy(GroupName=group, PolicyArn=S3_FULL)
    make_user("david", S3_FULL, EC2_READ)

    results, picture, _ = _plan_as_drawn(cli, iam, "david")

    assert results[0]["Groups"] == [group]
    assert sorted(picture[0]["GroupPolicies"][group]) == sorted([EC2_READ, S3_FULL])
