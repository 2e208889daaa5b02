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

from deploy.regions import NO_IAM_RECORDING, NO_REMEDIATION_CONFIGURATION, region_refusal

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/bin:/bin"
STUB_AWS = f"""#!{sys.executable}
import os, sys
import boto3
from botocore.exceptions import EndpointConnectionError, NoCredentialsError

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
    except EndpointConnectionError as error:
        sys.stderr.write(f"\\n{{error}}\\n")
        sys.exit(255)
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


TARGET_VARIABLES = {
    "deploy": ["ARTIFACT_BUCKET=my-artifacts"],
    "undeploy": [],
    "deploy-org": ["ARTIFACT_BUCKET=my-artifacts", "ORG_UNIT_IDS=r-abcd", "REGION=eu-west-1"],
}


@pytest.mark.parametrize("target", ["deploy", "undeploy", "deploy-org"])
def test_without_the_aws_cli_each_target_says_so_in_one_line(tmp_path, target):
    result = make(target, tmp_path, SYSTEM_PATH, *TARGET_VARIABLES[target], AWS_REGION="eu-west-1")
    assert result.returncode != 0
    assert own_lines(result) == [
        f"make {target}: the AWS CLI ('aws') is not on PATH. Install it "
        "(https://aws.amazon.com/cli/), run 'aws configure', then retry."
    ]


@pytest.mark.parametrize(
    ("target", "missing"),
    [("deploy", "ARTIFACT_BUCKET"), ("deploy-org", "ARTIFACT_BUCKET"), ("deploy-org", "REGION")],
)
def test_a_missing_variable_is_reported_first_before_any_aws_call(tmp_path, target, missing):
    # No AWS CLI, no credentials, no region: the variable still comes first.
    variables = [v for v in TARGET_VARIABLES[target] if not v.startswith(f"{missing}=")]
    result = make(target, tmp_path, SYSTEM_PATH, *variables)
    assert result.returncode != 0
    assert own_lines(result) == [
        f"make {target}: {missing} is not set. Run 'make {target} {missing}=<value>' "
        "(see docs/deployment.md)."
    ]


def test_without_credentials_deploy_says_so_in_one_line(tmp_path, stub_bin):
    result = make(
        "deploy",
        tmp_path,
        f"{stub_bin}:{SYSTEM_PATH}",
        *TARGET_VARIABLES["deploy"],
        AWS_REGION="eu-west-1",
    )
    assert result.returncode != 0
    assert own_lines(result) == [
        "make deploy: no AWS credentials found. Run 'aws configure' or 'aws sso login', "
        "or export AWS_PROFILE, then retry."
    ]


def test_without_a_region_deploy_says_so_in_one_line(tmp_path, stub_bin):
    result = make("deploy", tmp_path, f"{stub_bin}:{SYSTEM_PATH}", *TARGET_VARIABLES["deploy"])
    assert result.returncode != 0
    assert own_lines(result) == [
        "make deploy: no AWS region is set. Run 'aws configure set region <region>' or export "
        "AWS_REGION (one region per account where Config records IAM users: "
        "see docs/deployment.md, Regions)."
    ]


def test_an_unreachable_endpoint_is_reported_as_a_network_failure(tmp_path, stub_bin):
    result = make(
        "deploy",
        tmp_path,
        f"{stub_bin}:{SYSTEM_PATH}",
        *TARGET_VARIABLES["deploy"],
        AWS_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        # Nothing listens on port 9 (discard) of the loopback address.
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS="1",
    )
    assert result.returncode != 0
    (line,) = own_lines(result)
    assert line.startswith("make deploy: could not reach AWS (")
    assert line.endswith("Check the network, a proxy or AWS_ENDPOINT_URL, then retry.")
    assert "credentials" not in line


@pytest.mark.parametrize("region", sorted(NO_REMEDIATION_CONFIGURATION | NO_IAM_RECORDING))
def test_deploy_org_refuses_a_region_where_the_rule_cannot_run(tmp_path, stub_bin, region):
    variables = [v for v in TARGET_VARIABLES["deploy-org"] if not v.startswith("REGION=")]
    result = make(
        "deploy-org", tmp_path, f"{stub_bin}:{SYSTEM_PATH}", *variables, f"REGION={region}"
    )
    assert result.returncode != 0
    (line,) = own_lines(result)
    assert line == f"make deploy-org: {region_refusal(region)}"


def test_deploy_refuses_an_override_longer_than_config_accepts(tmp_path):
    exempt = ",".join(
        f"arn:aws:iam::123456789012:policy/platform/KeepPolicy{n:03d}" for n in range(6)
    )
    result = make(
        "deploy",
        tmp_path,
        SYSTEM_PATH,
        *TARGET_VARIABLES["deploy"],
        f"PARAMETER_OVERRIDES=ExemptPolicyArns={exempt}",
    )
    assert result.returncode != 0
    assert own_lines(result) == [
        f"make deploy: PARAMETER_OVERRIDES: ExemptPolicyArns is {len(exempt)} characters; Config "
        "accepts at most 256 in a remediation parameter. Exempt fewer policies "
        "(see docs/deployment.md, Exempting many policies)."
    ]
