"""``audit``: every user judged by the rule's own decision, in three formats, read-only."""

from __future__ import annotations

import csv
import io
import json

import boto3
import pytest
from botocore.stub import Stubber
from cli_support import ADMIN, CHANGE_PASSWORD, EC2_READ, S3_FULL

from no_direct_policies.cli import main as cli_module
from no_direct_policies.simulation.account import ACCOUNT_ID

JOHN_ANNOTATION = (
    "1 managed policy attached directly: AmazonS3FullAccess. "
    "Attach it to a group and add the user to it."
)


@pytest.fixture
def account(iam, make_user):
    """john (S3 full access, directly) and alice (no policies): one of each verdict."""
    john = make_user("john", S3_FULL)
    alice = make_user("alice")
    return {"john": john["UserId"], "alice": alice["UserId"]}


def test_table_lists_each_user_with_its_verdict_and_exits_1(cli, account):
    run = cli("audit")

    assert run.code == 1
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["ACCOUNT", "USER", "COMPLIANCE", "USER", "ID"]
    assert max(len(line) for line in lines) <= 80
    rows = {line.split()[1]: index for index, line in enumerate(lines) if "AIDA" in line}
    assert lines[rows["john"]].split() == [ACCOUNT_ID, "john", "NON_COMPLIANT", account["john"]]
    annotation = " ".join(line.strip() for line in lines[rows["john"] + 1 : rows["john"] + 3])
    assert annotation == JOHN_ANNOTATION
    assert lines[rows["alice"]].split() == [ACCOUNT_ID, "alice", "COMPLIANT", account["alice"]]
    assert lines[rows["alice"] + 1] == "    No managed policies attached directly."
    assert lines[-1] == "2 users: 1 COMPLIANT, 1 NON_COMPLIANT, 0 NOT_APPLICABLE"
    assert "\x1b[" not in run.stdout  # not a terminal: no colour
    assert run.stderr == ""


def test_json_holds_summary_and_each_users_finding(cli, account, iam):
    iam.tag_user(UserName="john", Tags=[{"Key": "team", "Value": "data"}])
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="alice")

    run = cli("audit", "--format", "json", "--region", "eu-west-1")

    assert run.code == 1
    report = json.loads(run.stdout)
    assert report["Summary"] == {"COMPLIANT": 1, "NON_COMPLIANT": 1, "NOT_APPLICABLE": 0}
    users = sorted(report["Users"], key=lambda row: row["UserName"])
    for user in users:
        assert user.pop("EvaluationTime").endswith("Z")
    assert users == [
        {
            "AccountId": ACCOUNT_ID,
            "Region": "eu-west-1",
            "UserName": "alice",
            "UserId": account["alice"],
            "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/alice",
            "Path": "/",
            "Tags": {},
            "AttachedManagedPolicyArns": [],
            "InlinePolicyNames": [],
            "Groups": ["readers"],
            "ComplianceType": "COMPLIANT",
            "Annotation": "No managed policies attached directly.",
            "RuleName": "IAM_USER_NO_DIRECT_POLICIES",
        },
        {
            "AccountId": ACCOUNT_ID,
            "Region": "eu-west-1",
            "UserName": "john",
            "UserId": account["john"],
            "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/john",
            "Path": "/",
            "Tags": {"team": "data"},
            "AttachedManagedPolicyArns": [S3_FULL],
            "InlinePolicyNames": [],
            "Groups": [],
            "ComplianceType": "NON_COMPLIANT",
            "Annotation": JOHN_ANNOTATION,
            "RuleName": "IAM_USER_NO_DIRECT_POLICIES",
        },
    ]


def test_csv_has_header_and_one_row_per_user(cli, account):
    run = cli("audit", "--format", "csv")

    assert run.code == 1
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == ["UserName", "UserId", "Path", "ComplianceType", "Annotation", "AccountId"]
    assert sorted(rows[1:]) == [
        [
            "alice",
            account["alice"],
            "/",
            "COMPLIANT",
            "No managed policies attached directly.",
            ACCOUNT_ID,
        ],
        ["john", account["john"], "/", "NON_COMPLIANT", JOHN_ANNOTATION, ACCOUNT_ID],
    ]


def test_user_and_status_filters_narrow_the_report_and_the_exit_code(cli, account, make_user):
    make_user("mark", S3_FULL)

    only_john = cli("audit", "--format", "json", "--user", "john", "--user", "alice")
    failing = cli("audit", "--format", "json", "--status", "NON_COMPLIANT")
    passing = cli("audit", "--format", "json", "--status", "COMPLIANT")

    assert sorted(user["UserName"] for user in json.loads(only_john.stdout)["Users"]) == [
        "alice",
        "john",
    ]
    assert sorted(user["UserName"] for user in json.loads(failing.stdout)["Users"]) == [
        "john",
        "mark",
    ]
    assert failing.code == 1
    assert [user["UserName"] for user in json.loads(passing.stdout)["Users"]] == ["alice"]
    assert passing.code == 0  # only the users shown count


def test_exit_0_when_every_user_complies(cli, make_user, iam):
    make_user("alice")
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=EC2_READ)
    iam.add_user_to_group(GroupName="readers", UserName="alice")

    run = cli("audit", "--format", "json")

    assert run.code == 0
    assert json.loads(run.stdout)["Summary"] == {
        "COMPLIANT": 1,
        "NON_COMPLIANT": 0,
        "NOT_APPLICABLE": 0,
    }


def _verdicts(run) -> dict[str, tuple[str, str]]:
    return {
        row["UserName"]: (row["ComplianceType"], row["Annotation"])
        for row in json.loads(run.stdout)["Users"]
    }


def test_exempt_user_names_make_a_user_not_applicable(cli, make_user):
    make_user("breakglass", ADMIN)

    run = cli("audit", "--format", "json", "--exempt-user-names", "breakglass,other")

    assert run.code == 0
    assert _verdicts(run) == {
        "breakglass": (
            "NOT_APPLICABLE",
            "User breakglass is exempt: listed in the rule parameter ExemptUserNames.",
        )
    }


def test_exempt_path_prefixes_make_a_user_not_applicable(cli, make_user):
    make_user("emergency", ADMIN, path="/breakglass/ops/")

    run = cli("audit", "--format", "json", "--exempt-user-path-prefixes", "/breakglass/")

    assert run.code == 0
    compliance, annotation = _verdicts(run)["emergency"]
    assert compliance == "NOT_APPLICABLE"
    assert "ExemptUserPathPrefixes" in annotation


def test_exempt_policy_arns_are_ignored_by_the_verdict(cli, make_user):
    make_user("bob", CHANGE_PASSWORD)
    make_user("mark", CHANGE_PASSWORD, S3_FULL)

    run = cli("audit", "--format", "json", "--exempt-policy-arns", CHANGE_PASSWORD)

    assert run.code == 1
    assert _verdicts(run) == {
        "bob": (
            "COMPLIANT",
            "No managed policies attached directly other than those listed in ExemptPolicyArns.",
        ),
        "mark": ("NON_COMPLIANT", JOHN_ANNOTATION),
    }


def test_check_inline_policies_flags_inline_only_users(cli, make_user):
    make_user("carol", inline=("s3-list",))

    without = cli("audit", "--format", "json")
    with_inline = cli("audit", "--format", "json", "--check-inline-policies")

    assert without.code == 0
    assert _verdicts(without)["carol"][0] == "COMPLIANT"
    assert with_inline.code == 1
    compliance, annotation = _verdicts(with_inline)["carol"]
    assert compliance == "NON_COMPLIANT"
    assert "1 inline policy on the user: s3-list" in annotation


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--exempt-user-names", "two words", "--exempt-user-names"),
        ("--exempt-user-path-prefixes", "breakglass", "--exempt-user-path-prefixes"),
        ("--exempt-policy-arns", "AmazonS3FullAccess", "--exempt-policy-arns"),
    ],
)
def test_bad_rule_option_is_one_line_naming_value_and_option(cli, option, value, named):
    run = cli("audit", option, value)

    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("error: Rule parameter ")
    assert repr(value) in run.stderr
    assert f"(command-line option {named})" in run.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["audit", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["audit", "--bogus"], "unrecognized arguments: --bogus"),
        (["purge"], "argument command: invalid choice: 'purge'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli, argv, expected):
    run = cli(*argv)

    assert run.code == 2
    assert run.stderr.startswith(f"error: {expected}")
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr


def _page(first: int, count: int, marker: str | None) -> dict:
    users = [
        {
            "UserName": f"user{index:05d}",
            "UserId": f"AIDA{index:017d}",
            "Path": "/",
            "Arn": f"arn:aws:iam::123456789012:user/user{index:05d}",
            "CreateDate": "2026-01-01T00:00:00Z",
            "AttachedManagedPolicies": [],
            "UserPolicyList": [],
            "GroupList": [],
        }
        for index in range(first, first + count)
    ]
    page = {"UserDetailList": users, "IsTruncated": marker is not None}
    if marker:
        page["Marker"] = marker
    return page


def test_thousands_of_users_are_read_page_by_page_without_progress_off_a_terminal(monkeypatch, cli):
    client = boto3.client("iam", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "get_account_authorization_details",
        _page(0, 1000, "page-2"),
        {"Filter": ["User"], "MaxItems": 1000},
    )
    stubber.add_response(
        "get_account_authorization_details",
        _page(1000, 500, None),
        {"Filter": ["User"], "MaxItems": 1000, "Marker": "page-2"},
    )
    monkeypatch.setattr(cli_module, "iam_client", lambda **_: client)

    with stubber:
        run = cli("audit", "--format", "csv")

    stubber.assert_no_pending_responses()
    assert run.code == 0
    assert run.stderr == ""  # not a terminal: no progress bar
    assert len(run.stdout.splitlines()) == 1 + 1500
