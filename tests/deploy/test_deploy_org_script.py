"""`make deploy-org` against a moto server: management account, delegated administrator, some OUs.

The real AWS CLI talks to a moto server holding an Organization (a root, two
OUs, one nested, and member accounts), an S3 bucket and CloudFormation. A thin
``aws`` in front of it records every call and answers only what moto cannot:
``sts get-caller-identity`` as a delegated administrator (moto has one
identity per server), ``put-organization-conformance-pack`` with a
template body (moto accepts only an S3 URI) and, for a root target, the
StackSet instances and their listing (moto deploys them to the management
account too, which service-managed StackSets never do). No AWS account is
involved.

The AWS CLI is the pinned one of requirements/awscli.txt, in its own virtual
environment (.venv-awscli, created by `make venv`), not whatever is on PATH.
The project is copied and packaged once per module; each rollout runs
deploy/deploy-org.sh in its own copy of that, as `make deploy-org` does after
`make package`, with the StackSet operations polled without a pause
(POLL_SECONDS=0). One rollout goes through `make deploy-org` end to end.
Rollouts that build on one another share a test, each assertion naming its step.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = ROOT / ".venv-awscli" / "bin" / "aws"
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
REGION = "eu-west-1"
BUCKET = "org-artifacts"

RECORDING_AWS = f"""#!{sys.executable}
import json, os, sys

args = sys.argv[1:]
with open(os.environ["AWS_CALLS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:2] == ["sts", "get-caller-identity"] and os.environ.get("CALLER_ACCOUNT"):
    print(os.environ["CALLER_ACCOUNT"])
    sys.exit(0)
if args[:2] == ["configservice", "put-organization-conformance-pack"]:
    print(json.dumps({{"OrganizationConformancePackArn": "arn:aws:config:pack"}}))
    sys.exit(0)
if os.environ.get("STUB_STACK_INSTANCES"):
    if args[:2] == ["cloudformation", "create-stack-instances"]:
        print("op-1")
        sys.exit(0)
    if args[:2] == ["cloudformation", "describe-stack-set-operation"]:
        print(os.environ.get("OPERATION_STATUS", "SUCCEEDED"))
        sys.exit(0)
    if args[:2] == ["cloudformation", "list-stack-instances"]:
        print("\t".join(os.environ.get("STUB_INSTANCE_ACCOUNTS", "").split()))
        sys.exit(0)
os.execv({str(AWS_CLI)!r}, [{str(AWS_CLI)!r}, *args])
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server for this module."""
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - the venv's own moto server
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310 - local
            break
        except OSError:
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def organization(moto_endpoint, monkeypatch) -> dict[str, Any]:
    """A fresh Organization: the management account at the root, OUs with member accounts.

    root: management, loose-member
      ou Workloads: workload-1
        ou Prod (nested): prod-1
      ou Sandbox: sandbox-1
    """
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=5)  # noqa: S310 - local
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    orgs = boto3.client("organizations", region_name=REGION)
    management = orgs.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    root = orgs.list_roots()["Roots"][0]["Id"]

    def ou(parent: str, name: str) -> str:
        return orgs.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"][
            "Id"
        ]

    def account(name: str, parent: str) -> str:
        status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")
        account_id = status["CreateAccountStatus"]["AccountId"]
        if parent != root:
            orgs.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
        return account_id

    workloads = ou(root, "Workloads")
    prod = ou(workloads, "Prod")
    sandbox = ou(root, "Sandbox")
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return {
        "management": management,
        "root": root,
        "workloads": workloads,
        "prod": prod,
        "sandbox": sandbox,
        "loose-member": account("loose-member", root),
        "workload-1": account("workload-1", workloads),
        "prod-1": account("prod-1", prod),
        "sandbox-1": account("sandbox-1", sandbox),
    }


def project_copy(destination: Path) -> Path:
    """The project in its own folder, so each rollout has its own build/.

    The virtual environment is linked, and rdklib is put where `make package`
    looks for it, from that environment: no download.
    """
    copy = destination / "project"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(".venv*", "build", ".git", "*_cache", "__pycache__"),
    )
    (copy / ".venv").symlink_to(ROOT / ".venv")
    # The linked environment must never be reinstalled from this copy (that would point
    # the shared editable install at a temporary folder): its inputs are made older than
    # its marker, also for the `make package` that `make deploy-org` runs itself.
    for name in ("pyproject.toml", "requirements/dev.txt"):
        os.utime(copy / name, (0, 0))
    site = Path(boto3.__file__).parent.parent
    shutil.copytree(site / "rdklib", copy / "build" / "rdklib" / "rdklib")
    pin = next(
        line
        for line in (ROOT / "requirements" / "runtime.txt").read_text().splitlines()
        if line.startswith("rdklib==")
    )
    (copy / "build" / "rdklib" / ".pin").write_text(pin + "\n")
    return copy


def clean_environment() -> dict[str, str]:
    """This process's environment without AWS settings or an outer make's."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MAKE"))}


@pytest.fixture(scope="module")
def packaged_project(tmp_path_factory) -> Path:
    """The project copied and `make package`d once: each rollout starts from a copy of it."""
    assert AWS_CLI.exists(), f"{AWS_CLI} is missing: run 'make venv' (requirements/awscli.txt)"
    project = project_copy(tmp_path_factory.mktemp("packaged"))
    packaging = subprocess.run(  # noqa: S603 - fixed argv
        ["make", "-s", "-C", str(project), "package"],  # noqa: S607 - make as the user runs it
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        env=clean_environment(),
    )
    assert packaging.returncode == 0, packaging.stderr
    return project


def deploy_org(
    tmp_path: Path, packaged: Path, org_unit_ids: str, *, via_make: bool = False, **env: str
):
    """One rollout, through the recording ``aws``, in a copy of the packaged project.

    ``deploy/deploy-org.sh`` as `make deploy-org` runs it after `make package`, or
    (``via_make``) ``make deploy-org`` itself, preflight and packaging included.
    Returns (result, recorded calls, the copy's rendered conformance pack).
    """
    project = tmp_path / "project"
    shutil.copytree(packaged, project, symlinks=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "aws").write_text(RECORDING_AWS)
    (bin_dir / "aws").chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    names = {
        "ARTIFACT_BUCKET": BUCKET,
        "ORG_UNIT_IDS": org_unit_ids,
        "REGION": REGION,
        "STACK_SET_NAME": "rule-set",
        "STACK_NAME": "rule-stack",
        "PACK_NAME": "rule-pack",
    }
    if via_make:
        # make -s deploy-org ARTIFACT_BUCKET=... as the user runs it.
        command = ["make", "-s", "-C", str(project), "deploy-org"]
        command += [f"{name}={value}" for name, value in names.items()]
        script_env = {}
    else:
        # The Makefile's recipe line after `make package`.
        command = ["sh", str(project / "deploy" / "deploy-org.sh")]
        script_env = {**names, "PYTHON": ".venv/bin/python"}
    result = subprocess.run(  # noqa: S603 - fixed argv; PATH is the test's own
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        env={
            **clean_environment(),
            **script_env,
            "POLL_SECONDS": "0",
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
            "AWS_CALLS": str(calls),
            **env,
        },
    )
    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    pack = project / "build" / "conformance-pack.yaml"
    return result, recorded, pack.read_text() if pack.exists() else ""


def calls_to(calls: list[list[str]], service: str, operation: str) -> list[list[str]]:
    return [call for call in calls if call[:2] == [service, operation]]


def option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def excluded(calls: list[list[str]]) -> list[str]:
    (put,) = calls_to(calls, "configservice", "put-organization-conformance-pack")
    return sorted(json.loads(option(put, "--excluded-accounts")))


ACCOUNTS = ("management", "loose-member", "workload-1", "prod-1", "sandbox-1")


def stack_instance_accounts() -> set[str]:
    """The accounts holding an instance of the StackSet in moto."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    summaries = cloudformation.list_stack_instances(StackSetName="rule-set")["Summaries"]
    return {summary["Account"] for summary in summaries if summary["Region"] == REGION}


def assert_the_pack_only_where_the_lambdas_are(
    calls: list[list[str]], organization: dict[str, Any], *, management_stack: bool
) -> None:
    """Exactly the accounts with a StackSet instance (and the management account's
    own stack, from there) are left out of ExcludedAccounts."""
    with_pack = {organization[name] for name in ACCOUNTS} - set(excluded(calls))
    with_stack = stack_instance_accounts() | (
        {organization["management"]} if management_stack else set()
    )
    assert with_pack == with_stack


def stackset_operations(calls: list[list[str]]) -> list[str]:
    """The StackSet calls in order, by operation name."""
    return [
        call[1]
        for call in calls
        if call[0] == "cloudformation"
        and ("stack-set" in call[1] or call[1].endswith("stack-instances"))
    ]


@pytest.fixture
def rollout(tmp_path, packaged_project):
    """``rollout(step, org_unit_ids, **env)``: one rollout, in tmp_path/step."""

    def run(step: str, org_unit_ids: str, *, via_make: bool = False, **env: str):
        return deploy_org(tmp_path / step, packaged_project, org_unit_ids, via_make=via_make, **env)

    return run


def test_from_the_management_account_to_the_whole_organization(rollout, organization):
    # The one rollout through `make deploy-org` itself: preflight, `make package`, the script.
    members = " ".join(organization[name] for name in ACCOUNTS if name != "management")
    result, calls, pack = rollout(
        "make",
        organization["root"],
        via_make=True,
        STUB_STACK_INSTANCES="1",
        STUB_INSTANCE_ACCOUNTS=members,
    )
    assert result.returncode == 0, result.stderr
    # The preflight's identity check, then the script's own.
    assert len(calls_to(calls, "sts", "get-caller-identity")) == 2
    stackset_calls = [c for c in calls if "stack-set" in c[1] or c[1] == "create-stack-instances"]
    assert stackset_calls
    assert all(option(c, "--call-as") == "SELF" for c in stackset_calls)
    (instances,) = calls_to(calls, "cloudformation", "create-stack-instances")
    assert option(instances, "--regions") == REGION
    assert (
        option(instances, "--deployment-targets") == f"OrganizationalUnitIds={organization['root']}"
    )
    # Service-managed StackSets skip the management account: a plain stack there.
    (plain_stack,) = calls_to(calls, "cloudformation", "deploy")
    assert option(plain_stack, "--stack-name") == "rule-stack"
    assert excluded(calls) == []
    stacks = boto3.client("cloudformation", region_name=REGION).describe_stacks(
        StackName="rule-stack"
    )
    assert stacks["Stacks"][0]["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    # The pack names the management account's role and Lambda, in the named region.
    assert f"arn:aws:iam::{organization['management']}:role/" in pack
    assert f"arn:aws:lambda:{REGION}:{organization['management']}:function:" in pack


def test_from_the_management_account_to_some_ous_excludes_the_other_accounts(rollout, organization):
    result, calls, _ = rollout("some-ous", organization["workloads"])
    assert result.returncode == 0, result.stderr
    # Workloads covers its nested Prod OU; the management account has its plain stack.
    assert excluded(calls) == sorted([organization["loose-member"], organization["sandbox-1"]])
    assert len(calls_to(calls, "cloudformation", "deploy")) == 1
    assert "excluding 2 accounts without a stack instance of rule-set" in result.stdout
    assert_the_pack_only_where_the_lambdas_are(calls, organization, management_stack=True)


def test_from_a_delegated_administrator(rollout, organization):
    delegated = organization["workload-1"]
    result, calls, pack = rollout(
        "delegated",
        f"{organization['workloads']},{organization['sandbox']}",
        CALLER_ACCOUNT=delegated,
    )
    assert result.returncode == 0, result.stderr
    stackset_calls = [c for c in calls if "stack-set" in c[1] or c[1] == "create-stack-instances"]
    assert all(option(c, "--call-as") == "DELEGATED_ADMIN" for c in stackset_calls)
    # No per-account stack in the delegated administrator's own account...
    assert calls_to(calls, "cloudformation", "deploy") == []
    # ...so the management account, which no StackSet reaches, stays out of the pack.
    assert excluded(calls) == sorted([organization["management"], organization["loose-member"]])
    assert "the management account" in result.stdout
    assert_the_pack_only_where_the_lambdas_are(calls, organization, management_stack=False)
    (listing,) = calls_to(calls, "cloudformation", "list-stack-instances")
    assert option(listing, "--call-as") == "DELEGATED_ADMIN"
    # The pack still names the management account: Config puts each member's ID in its place.
    assert f"arn:aws:iam::{organization['management']}:role/" in pack


def test_successive_rollouts_update_widen_and_narrow_the_stackset(rollout, organization):
    """A first rollout, a second one, widening the OUs, narrowing them again, all from
    the delegated administrator, then widening from the management account.

    The management account's rollout comes once, last: moto refuses an unchanged
    plain stack's empty change set, which the CLI accepts from CloudFormation.
    """
    delegated = {"CALLER_ACCOUNT": organization["sandbox-1"]}
    sandbox = organization["sandbox"]
    sandbox_and_prod = f"{organization['sandbox']},{organization['prod']}"
    prod_1 = organization["prod-1"]

    first, first_calls, _ = rollout("1-first", sandbox, **delegated)
    assert first.returncode == 0, f"first rollout: {first.stderr}"
    assert len(calls_to(first_calls, "cloudformation", "create-stack-set")) == 1, "first rollout"

    # A second rollout, unchanged OUs: the StackSet is updated, not created again.
    result, calls, _ = rollout("2-second", sandbox, **delegated)
    assert result.returncode == 0, f"second rollout: {result.stderr}"
    assert calls_to(calls, "cloudformation", "create-stack-set") == [], "second rollout"
    (update,) = calls_to(calls, "cloudformation", "update-stack-set")
    assert option(update, "--template-body") == "file://build/stackset.packaged.yaml", (
        "second rollout"
    )
    assert option(update, "--call-as") == "DELEGATED_ADMIN", "second rollout"

    # Widening to the nested Prod OU: the update, then the instances in every target OU,
    # each waited for, then the pack.
    assert prod_1 not in stack_instance_accounts(), "before widening"
    result, calls, _ = rollout("3-widen", sandbox_and_prod, **delegated)
    assert result.returncode == 0, f"widening: {result.stderr}"
    assert stackset_operations(calls) == [
        "describe-stack-set",
        "list-stack-instances",
        "update-stack-set",
        "describe-stack-set-operation",
        "create-stack-instances",
        "describe-stack-set-operation",
        "list-stack-instances",
    ], "widening"
    (instances,) = calls_to(calls, "cloudformation", "create-stack-instances")
    assert option(instances, "--deployment-targets") == (
        f"OrganizationalUnitIds={sandbox_and_prod}"
    ), "widening"
    assert option(instances, "--regions") == REGION, "widening"
    assert option(instances, "--call-as") == "DELEGATED_ADMIN", "widening"
    waits = calls_to(calls, "cloudformation", "describe-stack-set-operation")
    assert len({option(wait, "--operation-id") for wait in waits}) == 2, "widening"
    assert calls[-1][:2] == ["configservice", "put-organization-conformance-pack"], "widening"
    # The new OU's account has the stack and gets the pack.
    assert prod_1 in stack_instance_accounts(), "widening"
    outside = sorted(
        [organization["management"], organization["loose-member"], organization["workload-1"]]
    )
    assert excluded(calls) == outside, "widening"
    assert_the_pack_only_where_the_lambdas_are(calls, organization, management_stack=False)

    # Narrowing back to Sandbox: no instance is removed, so prod-1 keeps its stack, and the pack.
    result, calls, _ = rollout("4-narrow", sandbox, **delegated)
    assert result.returncode == 0, f"narrowing: {result.stderr}"
    assert calls_to(calls, "cloudformation", "delete-stack-instances") == [], "narrowing"
    assert prod_1 in stack_instance_accounts(), "narrowing"
    assert excluded(calls) == outside, "narrowing"
    assert_the_pack_only_where_the_lambdas_are(calls, organization, management_stack=False)

    # Widening from the management account to Workloads (Prod's parent): SELF, the
    # management account's plain stack, workload-1's new instance, and the pack on both.
    assert organization["workload-1"] not in stack_instance_accounts(), "before widening from it"
    both = f"{organization['sandbox']},{organization['workloads']}"
    result, calls, _ = rollout("5-widen-from-management", both)
    step = "widening from the management account"
    assert result.returncode == 0, f"{step}: {result.stderr}"
    (instances,) = calls_to(calls, "cloudformation", "create-stack-instances")
    assert option(instances, "--call-as") == "SELF", step
    assert len(calls_to(calls, "cloudformation", "deploy")) == 1, step
    assert organization["workload-1"] in stack_instance_accounts(), step
    assert excluded(calls) == [organization["loose-member"]], step
    assert_the_pack_only_where_the_lambdas_are(calls, organization, management_stack=True)


def test_a_failed_stackset_operation_stops_before_the_pack(rollout, organization):
    result, calls, _ = rollout(
        "failed", organization["root"], STUB_STACK_INSTANCES="1", OPERATION_STATUS="FAILED"
    )
    assert result.returncode != 0
    assert "StackSet operation op-1 ended FAILED" in result.stderr
    assert calls[-1][:2] == ["cloudformation", "describe-stack-set-operation"]


def test_an_account_without_an_instance_in_a_targeted_ou_stays_out_of_the_pack(
    rollout, organization
):
    # The StackSet is in the root's accounts but, as the listing says, not yet in
    # sandbox-1 (an auto-deployment still running, say): the pack leaves it out.
    members = [organization[name] for name in ("loose-member", "workload-1", "prod-1")]
    result, calls, _ = rollout(
        "no-instance",
        organization["root"],
        STUB_STACK_INSTANCES="1",
        STUB_INSTANCE_ACCOUNTS=" ".join(members),
    )
    assert result.returncode == 0, result.stderr
    assert excluded(calls) == [organization["sandbox-1"]]
    (listing,) = calls_to(calls, "cloudformation", "list-stack-instances")
    assert "Region=='eu-west-1' && Status=='CURRENT'" in option(listing, "--query")
