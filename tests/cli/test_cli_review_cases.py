"""Cases an adversarial review found: each asserts the fixed behaviour."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest
from cli_support import S3_FULL, run_cli

from no_direct_policies.cli import accounts, audit_command, output
from no_direct_policies.cli.main import main
from no_direct_policies.cli.organization import Account


def test_audit_user_that_matches_nobody_is_a_usage_error(iam, make_user):
    make_user("john", S3_FULL)

    run = run_cli("audit", "--user", "jhon", "--user", "john")

    assert run.code == 2
    assert "'jhon'" in run.stderr
    assert "'john'" not in run.stderr
    assert "check --user" in run.stderr
    assert "NON_COMPLIANT" in run.stdout  # the report of the users found is still written


def test_audit_user_found_exits_on_its_verdict(iam, make_user):
    make_user("john", S3_FULL)

    assert run_cli("audit", "--user", "john").code == 1


@pytest.mark.parametrize("command", ["audit", "remediate"])
@pytest.mark.parametrize("ids", [",", " , ,"])
def test_accounts_holding_no_id_is_a_usage_error(iam, command, ids):
    run = run_cli(command, "--accounts", ids)

    assert run.code == 2
    assert "--accounts holds no account ID" in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize("command", ["audit", "remediate"])
@pytest.mark.parametrize(
    "selection",
    [
        ("--accounts", "111111111111", "--exclude-accounts", "111111111111"),
        ("--exclude-accounts", "111111111111,222222222222"),
    ],
)
def test_org_selection_that_leaves_no_account_is_a_usage_error(
    iam, monkeypatch, command, selection
):
    listed = [Account("111111111111", "dev"), Account("222222222222", "prod")]
    monkeypatch.setattr(accounts.organization, "list_accounts", lambda client: listed)

    run = run_cli(command, "--org", *selection)

    assert run.code == 2
    assert f"no account left to {command}" in run.stderr
    assert run.stdout == ""


def test_errors_with_stderr_closed_stay_out_of_the_report(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stderr", None)

    code = main(["audit", "--accounts", ","])

    assert code == 2
    assert capsys.readouterr().out == ""


class _PartlyRefusingHub:
    """A Security Hub that refuses the first finding of every import."""

    def batch_import_findings(self, Findings):
        return {
            "SuccessCount": len(Findings) - 1,
            "FailedCount": 1,
            "FailedFindings": [{"Id": Findings[0]["Id"], "ErrorCode": "X", "ErrorMessage": "m"}],
        }


def test_security_hub_partial_failure_keeps_the_asff_report_whole(iam, make_user, monkeypatch):
    make_user("john", S3_FULL)
    make_user("ann")
    real = audit_command.aws_client

    def client(service, **options):
        return _PartlyRefusingHub() if service == "securityhub" else real(service, **options)

    monkeypatch.setattr(audit_command, "aws_client", client)

    run = run_cli("audit", "--format", "asff", "--send-to-security-hub")

    assert run.code == 3
    assert len(json.loads(run.stdout)) == 2  # the report is whole and parses
    assert "audit: 1 findings imported into Security Hub\n" in run.stderr
    assert "Security Hub refused 1 of 2 findings" in run.stderr


def test_org_account_whose_import_partly_failed_is_audited_not_failed(iam, make_user, monkeypatch):
    make_user("john", S3_FULL)
    monkeypatch.setattr(
        accounts.organization, "list_accounts", lambda client: [Account("123456789012", "dev")]
    )
    monkeypatch.setattr(
        accounts,
        "account_client",
        lambda service, account, args, sts: (
            _PartlyRefusingHub() if service == "securityhub" else iam
        ),
    )

    run = run_cli("audit", "--org", "--format", "asff", "--send-to-security-hub")

    assert run.code == 3
    assert len(json.loads(run.stdout)) == 1
    assert "account 123456789012: audited, but its Security Hub import failed" in run.stderr
    assert "could not be audited" not in run.stderr
    assert "Security Hub refused findings of 1 accounts (123456789012" in run.stderr


def test_a_json_report_cut_by_an_error_still_parses(iam, make_user, monkeypatch):
    make_user("john", S3_FULL)
    make_user("ann")
    real = audit_command.audit.iter_findings

    def failing(*args, **kwargs):
        iterator = real(*args, **kwargs)
        yield next(iterator)
        raise audit_command.SecurityHubImportError("boom")  # any AWS error part-way

    monkeypatch.setattr(audit_command.audit, "iter_findings", failing)

    for fmt, users in (("json", lambda doc: doc["Users"]), ("asff", lambda doc: doc)):
        run = run_cli("audit", "--format", fmt)
        assert run.code == 3
        document = json.loads(run.stdout)
        assert len(users(document)) == 1
        if fmt == "json":
            assert document["Incomplete"] is True


DEPLOYED = "IAM_USER_NO_DIRECT_POLICIES-conformance-pack-abc123"


class _AggregatorConfig:
    """An aggregator whose rules are ``rules`` (a conformance pack suffixes the name)."""

    def __init__(self, rules=(DEPLOYED,), name_missing=False):
        self.rules, self.name_missing = rules, name_missing

    def get_paginator(self, operation):
        return _Pages(self, operation)


class _Pages:
    def __init__(self, config, operation):
        self.config, self.operation = config, operation

    def paginate(self, **request):
        if self.operation == "describe_aggregate_compliance_by_config_rules":
            wanted = request.get("Filters", {}).get("ConfigRuleName")
            rules = [rule for rule in self.config.rules if wanted in (None, rule)]
            yield {
                "AggregateComplianceByConfigRules": [
                    {"ConfigRuleName": rule, "AccountId": "111111111111", "AwsRegion": "us-east-1"}
                    for rule in rules
                ]
            }
        elif self.operation == "list_aggregate_discovered_resources":
            named = (
                []
                if self.config.name_missing
                else [{"ResourceId": "AIDAX", "ResourceName": "john"}]
            )
            yield {"ResourceIdentifiers": named}
        else:
            assert request["ConfigRuleName"] in self.config.rules
            yield {
                "AggregateEvaluationResults": [
                    {
                        "EvaluationResultIdentifier": {
                            "EvaluationResultQualifier": {
                                "ResourceType": "AWS::IAM::User",
                                "ResourceId": "AIDAX",
                            }
                        },
                        "ComplianceType": "NON_COMPLIANT",
                        "Annotation": "x",
                        "ResultRecordedTime": datetime.now(UTC),
                    }
                ]
            }


def _aggregator(monkeypatch, config):
    monkeypatch.setattr(audit_command, "aws_client", lambda service, **options: config)


def test_aggregator_finds_the_rule_a_conformance_pack_deployed(iam, monkeypatch):
    _aggregator(monkeypatch, _AggregatorConfig())

    run = run_cli("audit", "--aggregator", "org", "--format", "json")

    assert run.code == 1
    assert f"has no rule named IAM_USER_NO_DIRECT_POLICIES; reading {DEPLOYED}" in run.stderr
    assert [user["UserName"] for user in json.loads(run.stdout)["Users"]] == ["john"]


def test_aggregator_with_several_candidate_rules_names_them(iam, monkeypatch):
    _aggregator(monkeypatch, _AggregatorConfig(rules=(DEPLOYED, DEPLOYED + "x", "OTHER")))

    run = run_cli("audit", "--aggregator", "org")

    assert run.code == 2
    assert f"{DEPLOYED}, {DEPLOYED}x; choose one with --rule-name" in run.stderr
    assert run.stdout == ""


def test_aggregator_without_the_rule_is_a_usage_error(iam, monkeypatch):
    _aggregator(monkeypatch, _AggregatorConfig(rules=("OTHER",)))

    run = run_cli("audit", "--aggregator", "org")

    assert run.code == 2
    assert "the aggregator org has no rule named IAM_USER_NO_DIRECT_POLICIES" in run.stderr


def test_aggregator_user_without_a_name_is_named_by_its_id_in_asff(iam, monkeypatch):
    _aggregator(monkeypatch, _AggregatorConfig(name_missing=True))

    run = run_cli("audit", "--aggregator", "org", "--format", "asff", "--rule-name", DEPLOYED)

    assert run.code == 1, run.stderr
    [finding] = json.loads(run.stdout)
    assert finding["Resources"][0]["Id"] == "AIDAX"
    assert "(AIDAX)" in finding["Title"]


@pytest.mark.parametrize("name", ["=1+1", "+cmd", "-2+3", "@evil"])
def test_csv_cells_that_start_a_formula_are_quoted_for_spreadsheets(iam, make_user, name):
    make_user(name, S3_FULL)

    audited = run_cli("audit", "--format", "csv")
    planned = run_cli("remediate", "--format", "csv", f"--user={name}")
    as_json = run_cli("audit", "--format", "json")

    assert audited.code == 1
    assert f"\n'{name}," in audited.stdout
    assert f"\n{name}," not in audited.stdout
    assert planned.code == 0, planned.stderr
    rows = planned.stdout.splitlines()[1:]
    assert rows
    assert all(row.startswith(f"'{name},") for row in rows)
    assert json.loads(as_json.stdout)["Users"][0]["UserName"] == name  # JSON: the exact text


def test_spreadsheet_safe_leaves_ordinary_cells_alone():
    assert [output.spreadsheet_safe(cell) for cell in ("john", "", 3, "a=b", "\tx", "\rx")] == [
        "john",
        "",
        "3",
        "a=b",
        "'\tx",
        "'\rx",
    ]


def test_remediate_summary_counts_only_the_users_moved(iam, make_user, tmp_path):
    make_user("john", S3_FULL)
    make_user("ann")  # nothing to move
    log = tmp_path / "changes.jsonl"

    planned = run_cli("remediate", "--user", "john", "--user", "ann")
    applied = run_cli("remediate", "--apply", "--user", "john", "--user", "ann", "--log", str(log))

    assert planned.stdout.splitlines()[-1] == (
        "Plan: 1 users to move, 4 IAM changes (1 groups to create); nothing was changed, "
        "add --apply to make them; 1 users with nothing to move"
    )
    assert applied.code == 0, applied.stderr
    assert applied.stdout.splitlines()[-1] == (
        "Applied: 1 users moved, 4 IAM changes made (1 groups created; run locks not "
        "counted); 1 users with nothing to move"
    )
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    locks = [entry for entry in logged if entry["action"] == "DeleteGroup"]
    assert locks  # each move's run lock: a CreateGroup then a DeleteGroup, logged
    assert len(logged) - 2 * len(locks) == 4  # the changes the summary counts
