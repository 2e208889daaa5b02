"""Many accounts against a real ``moto_server``: Organizations lists them, STS assumes the
role in each, IAM is read per account; the CLI runs as a separate process.

docs/cli.md's "An Organization" sample is this module's run: ``UPDATE_DOCS=1`` rewrites
it, and ``test_the_docs_sample_is_what_the_tool_prints`` checks it, IDs aside.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cli_support import EC2_READ, S3_FULL
from test_cli_moto_server import _cli
from test_cli_moto_server import moto_server as _moto_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
BEGIN, END = "<!-- org-sample:begin -->", "<!-- org-sample:end -->"
SAMPLE_COMMAND = "audit --org --jobs 1 --exempt-user-names breakglass"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """The moto server of test_cli_moto_server, without MOTO_ACCOUNT_ID (which the in-process
    simulated account sets, and which would pin every request to one account)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MOTO_ACCOUNT_ID", raising=False)
        yield from _moto_server.__wrapped__()


@pytest.fixture(autouse=True)
def _no_pinned_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)


def _client(server: str, service: str, credentials: dict[str, str] | None = None) -> Any:
    keys = (
        {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        if credentials
        else CREDENTIALS
    )
    return boto3.client(service, endpoint_url=server, region_name="us-east-1", **keys)


def _iam_of(server: str, account_id: str) -> Any:
    role = f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    credentials = _client(server, "sts").assume_role(RoleArn=role, RoleSessionName="test")
    return _client(server, "iam", credentials["Credentials"])


@pytest.fixture(scope="module")
def organization(moto_server: str) -> dict[str, str]:
    """Three accounts: the management account and two members, with users in each."""
    orgs = _client(moto_server, "organizations")
    orgs.create_organization(FeatureSet="ALL")
    ids = {"management": orgs.describe_organization()["Organization"]["MasterAccountId"]}
    for name in ("dev", "prod"):
        status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")
        ids[name] = status["CreateAccountStatus"]["AccountId"]
    users = {
        "management": [("alice", ())],
        "dev": [("john", (S3_FULL,)), ("bob", ())],
        "prod": [("priya", (EC2_READ, S3_FULL)), ("breakglass", (S3_FULL,))],
    }
    for account, entries in users.items():
        iam = _iam_of(moto_server, ids[account])
        for user_name, policies in entries:
            iam.create_user(UserName=user_name)
            for arn in policies:
                iam.attach_user_policy(UserName=user_name, PolicyArn=arn)
    return ids


def _audit(server: str, *argv: str) -> Any:
    return _cli(*argv, AWS_ENDPOINT_URL=server)


def test_org_audit_reads_every_account_through_the_role(moto_server, organization):
    run = _audit(moto_server, "audit", "--org", "--format", "json")

    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    by_account = {
        (user["AccountId"], user["UserName"]): user["ComplianceType"] for user in report["Users"]
    }
    assert by_account == {
        (organization["management"], "alice"): "COMPLIANT",
        (organization["dev"], "john"): "NON_COMPLIANT",
        (organization["dev"], "bob"): "COMPLIANT",
        (organization["prod"], "priya"): "NON_COMPLIANT",
        (organization["prod"], "breakglass"): "NON_COMPLIANT",
    }
    assert sorted(status["AccountId"] for status in report["Accounts"]) == sorted(
        organization.values()
    )
    assert {status["Status"] for status in report["Accounts"]} == {"AUDITED"}
    assert run.stderr == ""


def test_accounts_and_exclude_accounts_narrow_the_organization(moto_server, organization):
    only = _audit(
        moto_server,
        "audit",
        "--org",
        "--format",
        "csv",
        "--accounts",
        f"{organization['dev']},{organization['prod']}",
        "--exclude-accounts",
        organization["prod"],
    )

    assert only.returncode == 1, only.stderr
    assert {row.split(",")[-1] for row in only.stdout.splitlines()[1:]} == {organization["dev"]}


def test_an_account_that_cannot_be_audited_is_named_and_the_others_go_on(moto_server, organization):
    stranger = "999999999999"
    run = _audit(
        moto_server,
        "audit",
        "--org",
        "--format",
        "json",
        "--status",
        "COMPLIANT",
        "--accounts",
        f"{organization['dev']},{stranger}",
    )

    assert run.returncode == 7  # not 1, not 0: the audit is incomplete
    assert run.stderr == (f"error: account {stranger}: not an active account of the Organization\n")
    report = json.loads(run.stdout)
    assert [user["UserName"] for user in report["Users"]] == ["bob"]
    assert {status["AccountId"]: status["Status"] for status in report["Accounts"]} == {
        organization["dev"]: "AUDITED",
        stranger: "FAILED",
    }


def test_remediate_plans_every_account_and_changes_nothing(moto_server, organization):
    run = _audit(moto_server, "remediate", "--org", "--exempt-user-names", "breakglass")

    assert run.returncode == 0, run.stderr
    headers = [line for line in run.stdout.splitlines() if ": PLANNED" in line]
    assert [header.split()[0] for header in headers] == ["john", "priya"]
    assert run.stdout.splitlines()[-1] == (
        "Plan in 3 accounts read: 2 users to move in 2 accounts, 10 IAM changes (2 groups "
        "to create); nothing was "
        "changed, add --apply to make them"
    )
    dev = _iam_of(moto_server, organization["dev"])
    assert dev.list_attached_user_policies(UserName="john")["AttachedPolicies"] != []


def _normalised(text: str, ids: dict[str, str]) -> str:
    for name, account_id in ids.items():
        text = text.replace(account_id, f"<{name}>".ljust(12))
    # The last column of a user's row is its ID (moto's are random, AWS's start AIDA).
    return re.sub(r"^(<\w+>\s.*\s)\S+$", r"\1AIDAXXXXXXXXXXXXXXXXX", text, flags=re.MULTILINE)


def _doc_sample() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)]


def test_the_docs_sample_is_what_the_tool_prints(moto_server, organization):
    run = _audit(moto_server, *SAMPLE_COMMAND.split())

    assert run.returncode == 1, run.stderr
    sample = f"\n```text\n$ no-direct-policies {SAMPLE_COMMAND}\n{run.stdout}```\n"
    sample = _normalised(sample, organization)
    if os.environ.get("UPDATE_DOCS") == "1":
        text = DOC.read_text(encoding="utf-8")
        before, after = text.split(BEGIN)[0], text.split(END)[1]
        DOC.write_text(before + BEGIN + sample + END + after, encoding="utf-8")
    assert _doc_sample() == sample
