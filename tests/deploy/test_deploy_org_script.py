"""deploy/deploy-org.sh issues the AWS CLI calls of an Organization rollout, in order.

A stand-in ``aws`` records every call and answers as the CLI would; no AWS
account is involved.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "deploy-org.sh"
RECORDING_AWS = f"""#!{sys.executable}
import json, os, sys

args = sys.argv[1:]
with open(os.environ["AWS_CALLS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
command = args[:2]
if command == ["cloudformation", "describe-stack-set"]:
    sys.exit(0 if os.environ.get("STACK_SET_EXISTS") else 255)
if command[0] == "cloudformation" and command[1] in ("create-stack-instances", "update-stack-set"):
    print("op-1")
elif command == ["cloudformation", "describe-stack-set-operation"]:
    print(os.environ.get("OPERATION_STATUS", "SUCCEEDED"))
"""
PACKAGE = [
    "cloudformation",
    "package",
    "--template-file",
    "build/stackset.yaml",
    "--s3-bucket",
    "my-artifacts",
    "--output-template-file",
    "build/stackset.packaged.yaml",
]
WAIT = [
    "cloudformation",
    "describe-stack-set-operation",
    "--stack-set-name",
    "rule-set",
    "--operation-id",
    "op-1",
    "--query",
    "StackSetOperation.Status",
    "--output",
    "text",
]
MANAGEMENT_ACCOUNT_STACK = [
    "cloudformation",
    "deploy",
    "--template-file",
    "build/stackset.packaged.yaml",
    "--stack-name",
    "rule-stack",
    "--capabilities",
    "CAPABILITY_NAMED_IAM",
    "--no-fail-on-empty-changeset",
]
PACK = [
    "configservice",
    "put-organization-conformance-pack",
    "--organization-conformance-pack-name",
    "rule-pack",
    "--template-body",
    "file://build/conformance-pack.yaml",
]
TEMPLATE_BODY = ["--template-body", "file://build/stackset.packaged.yaml"]


def run_script(tmp_path: Path, **env: str):
    """Run deploy-org.sh with the recording ``aws``; returns (result, recorded calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(RECORDING_AWS)
    (bin_dir / "aws").chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    result = subprocess.run(  # noqa: S603 - fixed argv: the project's own script
        ["/bin/sh", str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "AWS_CALLS": str(calls),
            "AWS_REGION": "eu-west-1",
            "ARTIFACT_BUCKET": "my-artifacts",
            "ORG_UNIT_IDS": "ou-ab12-11111111,ou-ab12-22222222",
            "STACK_SET_NAME": "rule-set",
            "STACK_NAME": "rule-stack",
            "PACK_NAME": "rule-pack",
            **env,
        },
    )
    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    return result, recorded


def test_first_rollout_creates_a_service_managed_stackset_then_the_pack(tmp_path):
    result, calls = run_script(tmp_path)
    assert result.returncode == 0, result.stderr
    assert calls == [
        PACKAGE,
        ["cloudformation", "describe-stack-set", "--stack-set-name", "rule-set"],
        [
            "cloudformation",
            "create-stack-set",
            "--stack-set-name",
            "rule-set",
            *TEMPLATE_BODY,
            "--capabilities",
            "CAPABILITY_NAMED_IAM",
            "--permission-model",
            "SERVICE_MANAGED",
            "--auto-deployment",
            "Enabled=true,RetainStacksOnAccountRemoval=false",
        ],
        [
            "cloudformation",
            "create-stack-instances",
            "--stack-set-name",
            "rule-set",
            "--deployment-targets",
            "OrganizationalUnitIds=ou-ab12-11111111,ou-ab12-22222222",
            "--regions",
            "eu-west-1",
            "--operation-preferences",
            "FailureTolerancePercentage=0,MaxConcurrentPercentage=25",
            "--query",
            "OperationId",
            "--output",
            "text",
        ],
        WAIT,
        # Service-managed StackSets skip the management account: a plain stack there.
        MANAGEMENT_ACCOUNT_STACK,
        PACK,
    ]


def test_second_rollout_updates_the_stackset(tmp_path):
    result, calls = run_script(tmp_path, STACK_SET_EXISTS="1")
    assert result.returncode == 0, result.stderr
    assert calls[2] == [
        "cloudformation",
        "update-stack-set",
        "--stack-set-name",
        "rule-set",
        *TEMPLATE_BODY,
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--query",
        "OperationId",
        "--output",
        "text",
    ]
    assert calls[3:] == [WAIT, MANAGEMENT_ACCOUNT_STACK, PACK]


@pytest.mark.parametrize("status", ["FAILED", "STOPPED"])
def test_a_failed_stackset_operation_stops_before_the_pack(tmp_path, status):
    result, calls = run_script(tmp_path, OPERATION_STATUS=status)
    assert result.returncode == 1
    assert f"StackSet operation op-1 ended {status}" in result.stderr
    assert calls[-1] == WAIT
