"""Answers that are XML but not the right answer, bugs, signals and other services' errors:
each ends in one line and its own exit code, never a traceback and never exit 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError
from cli_support import assert_one_line
from test_cli_moto_server import ROOT, _environment

from no_direct_policies.cli import audit
from no_direct_policies.cli.clients import describe_aws_error
from no_direct_policies.cli.errors import EXIT_INTERNAL_ERROR

NS = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'
OP = "GetAccountAuthorizationDetails"


def _answer(result: str) -> tuple[int, str, bytes]:
    body = f"<{OP}Response {NS}><{OP}Result>{result}</{OP}Result></{OP}Response>"
    return 200, "text/xml", body.encode()


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ((200, "text/xml", b"<WhateverResponse/>"), "HTTP 200, text/xml, 19 bytes"),
        (
            (200, "text/xml", f"<{OP}Response {NS}/>".encode()),
            "HTTP 200, text/xml",
        ),
        (
            _answer("<IsTruncated>true</IsTruncated><UserDetailList/>"),
            "IsTruncated=true without a Marker",
        ),
        (
            _answer(
                "<IsTruncated>false</IsTruncated><UserDetailList><member>"
                "<UserId>AIDAX</UserId></member></UserDetailList>"
            ),
            "a user entry without UserName or UserId",
        ),
    ],
    ids=["other-root", "no-result", "truncated-without-marker", "user-without-name"],
)
def test_well_formed_xml_with_the_wrong_content_is_exit_3(
    cli, monkeypatch, stranger, answer, detail
):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    stranger.answer = answer

    line = assert_one_line(cli("audit", "--endpoint-url", stranger.url), 3)

    assert f"did not answer iam:{OP} like AWS ({detail}" in line


def test_a_bug_is_exit_70_in_one_line_and_debug_shows_the_traceback(cli, monkeypatch):
    def broken(*_: object, **__: object):
        raise RuntimeError("something impossible")

    monkeypatch.setattr(audit, "iter_user_details", broken)

    quiet = cli("audit")
    loud = cli("audit", "--debug")

    line = assert_one_line(quiet, EXIT_INTERNAL_ERROR)
    assert line == (
        "error: internal error (RuntimeError: something impossible); "
        "run with --debug for the traceback"
    )
    assert loud.code == EXIT_INTERNAL_ERROR
    assert "Traceback (most recent call last)" in loud.stderr


def test_an_sts_error_names_the_sts_action():
    error = ClientError(
        {
            "Error": {"Code": "AccessDenied", "Message": "not allowed"},
            "ResponseMetadata": {"CliServicePrefix": "sts"},
        },
        "AssumeRole",
    )

    described = describe_aws_error(error)

    assert str(described).startswith("access denied to sts:AssumeRole (AccessDenied): grant ")


def test_an_organizations_error_from_the_endpoint_names_its_service(cli, monkeypatch, stranger):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    body = b'{"__type": "AccessDeniedException", "message": "You are not the management account"}'
    stranger.answer = (400, "application/x-amz-json-1.1", body)

    line = assert_one_line(cli("audit", "--org", "--endpoint-url", stranger.url), 3)

    assert "organizations:ListAccounts" in line
    assert "iam:ListAccounts" not in line


@pytest.mark.parametrize("command", [["audit"], ["remediate", "--apply"]])
def test_sigterm_while_reading_is_exit_130_with_one_line(stranger, command):
    stranger.answer = None  # accepts, never answers: the CLI waits in its first call
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "no_direct_policies", *command, "--endpoint-url", stranger.url],
        cwd=ROOT,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    os.kill(process.pid, signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130
    assert stdout == ""
    assert stderr == "error: interrupted (SIGTERM received) before any change\n"
