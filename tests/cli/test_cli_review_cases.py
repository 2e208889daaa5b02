"""Cases an adversarial review found: each asserts the fixed behaviour."""

from __future__ import annotations

import sys

import pytest
from cli_support import S3_FULL, run_cli

from no_direct_policies.cli import accounts
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
