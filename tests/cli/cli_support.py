"""Constants and helpers shared by the command-line tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

from no_direct_policies.cli.main import main

AWS_POLICY = "arn:aws:iam::aws:policy/"
S3_FULL = AWS_POLICY + "AmazonS3FullAccess"
EC2_READ = AWS_POLICY + "AmazonEC2ReadOnlyAccess"
CHANGE_PASSWORD = AWS_POLICY + "IAMUserChangePassword"
ADMIN = AWS_POLICY + "AdministratorAccess"


@dataclass(frozen=True)
class CliRun:
    """What one CLI invocation printed and returned."""

    code: int
    stdout: str
    stderr: str


def run_cli(*argv: str) -> CliRun:
    """Run ``python -m no_direct_policies`` in-process, capturing both streams."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=stdout, stderr=stderr)
    return CliRun(code, stdout.getvalue(), stderr.getvalue())


def assert_one_line(run: CliRun, code: int) -> str:
    """The run failed with ``code`` and one line on stderr, no report, no traceback."""
    assert run.code == code
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr
    return run.stderr.rstrip("\n")
