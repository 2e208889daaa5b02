"""`make deploy`, `undeploy` and `deploy-org` stop with one clear line when something is missing.

No test needs an AWS account. Where the AWS CLI must be present, a stand-in
``aws`` answers the two calls the preflight makes, resolving credentials with
botocore exactly as the CLI does (and, when told to, against moto).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/bin:/bin"
STUB_AWS = f"""#!{sys.executable}
import os, sys
import boto3
from botocore.exceptions import NoCredentialsError

args = sys.argv[1:]
if args[:2] == ["configure", "get"]:
    sys.exit(1)  # what the CLI does for an unset value
if args[:2] == ["sts", "get-caller-identity"]:
    def account():
        return boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
    try:
        if os.environ.get("STUB_AWS_MOTO"):
            from moto import mock_aws
            with mock_aws():
                print(account())
        else:
            print(account())
    except NoCredentialsError as error:
        sys.stderr.write(
            f"\\n{{error}}. You can configure credentials by running \\"aws configure\\".\\n"
        )
        sys.exit(253)
    sys.exit(0)
sys.exit(f"the preflight made an unexpected call: aws {{' '.join(args)}}")
"""


@pytest.fixture
def stub_bin(tmp_path) -> Path:
    """A folder holding the stand-in ``aws``."""
    folder = tmp_path / "bin"
    folder.mkdir()
    aws = folder / "aws"
    aws.write_text(STUB_AWS)
    aws.chmod(0o755)
    return folder


def make(target: str, tmp_path: Path, path: str, *args: str, **env: str):
    """Run ``make -s TARGET`` with a clean environment: no credentials, no metadata service."""
    environment = {
        "PATH": path,
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **env,
    }
    return subprocess.run(  # noqa: S603 - fixed argv; PATH is the test's own
        ["make", "-s", "-C", str(ROOT), target, *args],  # noqa: S607 - make as the user runs it
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=60,
    )


def own_lines(result) -> list[str]:
    """The output lines that are not make's own ``make: *** ... Error`` line."""
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line and not line.startswith("make: ***")]


@pytest.mark.parametrize("target", ["deploy", "undeploy", "deploy-org"])
def test_without_the_aws_cli_each_target_says_so_in_one_line(tmp_path, target):
    result = make(target, tmp_path, SYSTEM_PATH, AWS_REGION="eu-west-1")
    assert result.returncode != 0
    assert own_lines(result) == [
        f"make {target}: the AWS CLI ('aws') is not on PATH. Install it "
        "(https://aws.amazon.com/cli/), run 'aws configure', then retry."
    ]


def test_without_credentials_deploy_says_so_in_one_line(tmp_path, stub_bin):
    result = make("deploy", tmp_path, f"{stub_bin}:{SYSTEM_PATH}", AWS_REGION="eu-west-1")
    assert result.returncode != 0
    assert own_lines(result) == [
        "make deploy: no AWS credentials found. Run 'aws configure' or 'aws sso login', "
        "or export AWS_PROFILE, then retry."
    ]


def test_without_a_region_deploy_says_so_in_one_line(tmp_path, stub_bin):
    result = make("deploy", tmp_path, f"{stub_bin}:{SYSTEM_PATH}")
    assert result.returncode != 0
    assert own_lines(result) == [
        "make deploy: no AWS region is set. Run 'aws configure set region <region>' or export "
        "AWS_REGION (deploy IAM rules in the one region where Config records IAM users)."
    ]


def test_with_credentials_deploy_asks_for_the_artifact_bucket_before_building(tmp_path, stub_bin):
    result = make(
        "deploy",
        tmp_path,
        f"{stub_bin}:{SYSTEM_PATH}",
        AWS_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        STUB_AWS_MOTO="1",
    )
    assert result.returncode != 0
    assert own_lines(result) == [
        "make deploy: ARTIFACT_BUCKET is not set. Run 'make deploy ARTIFACT_BUCKET=<value>' "
        "(see README, Deployment)."
    ]


def test_deploy_org_asks_for_the_organizational_units(tmp_path, stub_bin):
    result = make(
        "deploy-org",
        tmp_path,
        f"{stub_bin}:{SYSTEM_PATH}",
        "ARTIFACT_BUCKET=my-artifacts",
        AWS_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        STUB_AWS_MOTO="1",
    )
    assert result.returncode != 0
    assert own_lines(result) == [
        "make deploy-org: ORG_UNIT_IDS is not set. Run 'make deploy-org ORG_UNIT_IDS=<value>' "
        "(see README, Deployment)."
    ]
