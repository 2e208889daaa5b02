"""``audit --format ocsf|asff|junit|html`` and ``remediate --format html``, validated against
the published schemas (tests/format_validators.py); Security Hub import against moto;
``--aggregator`` against botocore's Stubber (moto has no aggregate compliance API)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from cli_support import EC2_READ, S3_FULL
from format_validators import assert_importable, assert_valid, parse_valid

from no_direct_policies.cli import audit_command
from no_direct_policies.cli.progress import Progress
from no_direct_policies.cli.remediate import plan_picture


@pytest.fixture
def account(make_user):
    make_user("john", S3_FULL)
    make_user("priya", S3_FULL, EC2_READ)
    make_user("alice")


def test_ocsf_events_are_valid_compliance_findings(cli, account):
    run = cli("audit", "--format", "ocsf")

    assert run.code == 1
    events = json.loads(run.stdout)
    assert len(events) == 3
    for event in events:
        assert_valid(event)


def test_asff_findings_are_valid_batch_import_input(cli, account):
    run = cli("audit", "--format", "asff")

    findings = json.loads(run.stdout)
    assert len(findings) == 3
    assert_importable(findings)


def test_junit_is_valid_and_fails_the_non_compliant_users(cli, account):
    run = cli("audit", "--format", "junit")

    root = parse_valid(run.stdout)
    assert root.get("tests") == "3"
    assert root.get("failures") == "2"


def test_html_is_one_page_with_the_findings(cli, account):
    run = cli("audit", "--format", "html", "--status", "NON_COMPLIANT")

    assert run.stdout.startswith("<!DOCTYPE html>")
    assert "john" in run.stdout
    assert "priya" in run.stdout
    assert ">alice<" not in run.stdout


def test_remediate_html_draws_the_plan(cli, account, iam):
    run = cli("remediate", "--format", "html")

    assert run.code == 0
    assert run.stdout.startswith("<!DOCTYPE html>")
    assert "<svg" in run.stdout
    assert "MovedPolicies-AmazonS3FullAccess" in run.stdout
    assert "Plan: 2 users to move" in run.stderr
    assert iam.list_groups()["Groups"] == []  # a plan changes nothing


def test_plan_picture_reads_the_helpers_dry_run_results():
    results = [
        {
            "UserName": "john",
            "Groups": ["MovedPolicies-AmazonS3FullAccess-1"],
            "MovedPolicyArns": [S3_FULL],
            "Actions": [
                {"Action": "CreateGroup", "GroupName": "MovedPolicies-AmazonS3FullAccess-1"},
                {
                    "Action": "AttachGroupPolicy",
                    "GroupName": "MovedPolicies-AmazonS3FullAccess-1",
                    "PolicyArn": S3_FULL,
                },
                {"Action": "DetachUserPolicy", "UserName": "john", "PolicyArn": S3_FULL},
            ],
        },
        {  # the group exists already: no AttachGroupPolicy in the plan
            "UserName": "david",
            "Groups": ["MovedPolicies-AmazonS3FullAccess-1"],
            "MovedPolicyArns": [S3_FULL],
            "Actions": [
                {"Action": "DetachUserPolicy", "UserName": "david", "PolicyArn": S3_FULL},
            ],
        },
    ]

    picture = plan_picture(results)

    assert picture == [
        {
            "UserName": name,
            "GroupsToJoin": ["MovedPolicies-AmazonS3FullAccess-1"],
            "GroupPolicies": {"MovedPolicies-AmazonS3FullAccess-1": [S3_FULL]},
            "PoliciesToDetach": [S3_FULL],
        }
        for name in ("john", "david")
    ]


def test_send_to_security_hub_imports_every_finding(cli, account):
    run = cli("audit", "--format", "asff", "--send-to-security-hub")

    assert run.code == 1
    assert run.stderr == "audit: 3 findings imported into Security Hub\n"
    hub = boto3.client("securityhub", region_name="us-east-1")
    stored = hub.get_findings()["Findings"]
    assert sorted(finding["Id"] for finding in stored) == sorted(
        finding["Id"] for finding in json.loads(run.stdout)
    )


def test_send_to_security_hub_needs_asff(cli):
    run = cli("audit", "--send-to-security-hub")

    assert run.code == 2
    assert run.stderr == "error: --send-to-security-hub goes with --format asff\n"


def test_aggregator_reads_the_recorded_verdicts(cli, monkeypatch):
    config = boto3.client("config", region_name="us-east-1")
    stubber = Stubber(config)
    when = datetime(2026, 3, 1, tzinfo=UTC)
    stubber.add_response(
        "describe_aggregate_compliance_by_config_rules",
        {
            "AggregateComplianceByConfigRules": [
                {
                    "ConfigRuleName": "IAM_USER_NO_DIRECT_POLICIES",
                    "AccountId": "111111111111",
                    "AwsRegion": "us-east-1",
                }
            ]
        },
    )
    stubber.add_response(
        "list_aggregate_discovered_resources",
        {
            "ResourceIdentifiers": [
                {
                    "SourceAccountId": "111111111111",
                    "SourceRegion": "us-east-1",
                    "ResourceType": "AWS::IAM::User",
                    "ResourceId": "AIDAJOHN",
                    "ResourceName": "john",
                }
            ]
        },
    )
    stubber.add_response(
        "get_aggregate_compliance_details_by_config_rule",
        {
            "AggregateEvaluationResults": [
                {
                    "EvaluationResultIdentifier": {
                        "EvaluationResultQualifier": {
                            "ConfigRuleName": "IAM_USER_NO_DIRECT_POLICIES",
                            "ResourceType": "AWS::IAM::User",
                            "ResourceId": "AIDAJOHN",
                        }
                    },
                    "ComplianceType": "NON_COMPLIANT",
                    "ResultRecordedTime": when,
                    "Annotation": "1 managed policy attached directly.",
                    "AccountId": "111111111111",
                    "AwsRegion": "us-east-1",
                }
            ]
        },
    )
    monkeypatch.setattr(audit_command, "aws_client", lambda service, **_: config)

    with stubber:
        run = cli("audit", "--aggregator", "org", "--format", "json")

    stubber.assert_no_pending_responses()
    assert run.code == 1
    (user,) = json.loads(run.stdout)["Users"]
    assert (user["AccountId"], user["UserName"], user["UserId"]) == (
        "111111111111",
        "john",
        "AIDAJOHN",
    )
    assert user["EvaluationTime"] == "2026-03-01T00:00:00.000Z"


class _Terminal:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_bar_shows_only_on_a_terminal_after_two_seconds():
    now = [0.0]
    terminal = _Terminal()
    bar = Progress(terminal, "reading accounts", total=4, unit="accounts", clock=lambda: now[0])

    bar.update(advance=1)
    assert terminal.text == ""  # a quick run shows nothing
    now[0] = 2.5
    bar.update(advance=1, note="1200 users")
    assert terminal.text == (
        "\r\x1b[Kreading accounts [##########..........] 2/4 accounts, 1200 users\x1b[K"
    ).replace("\r\x1b[K", "\r", 1)
    assert len(bar.line()) < 80
    bar.close()
    assert terminal.text.endswith("\r\x1b[K")


def test_help_shows_examples_and_the_defaults(cli, capsys):
    from no_direct_policies.cli.main import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["audit", "--help"])
    text = " ".join(capsys.readouterr().out.split())

    assert "examples:" in text
    assert "no-direct-policies audit --org --role-name AuditRole" in text
    assert "(default: OrganizationAccountAccessRole)" in text
    assert "(default: 4)" in text
    assert "(default: 10.0)" in text
