"""The command line with the inputs a first-time user gets wrong: malformed endpoint and
retry settings, a profile named only in the environment, a rule option that would exempt
everyone, inline policies checked but not moved, and the Makefile wrappers' output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_support import S3_FULL

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _one_line_usage_error(run) -> str:
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr
    return run.stderr


@pytest.mark.parametrize("endpoint", ["notaurl", "http://[bad"])
def test_malformed_endpoint_url_is_a_usage_error(cli, endpoint):
    stderr = _one_line_usage_error(cli("audit", "--endpoint-url", endpoint))

    assert stderr.startswith("error: cannot set up the AWS client: ")
    assert "--endpoint-url / AWS_ENDPOINT_URL" in stderr


def test_malformed_endpoint_url_from_the_environment_is_a_usage_error(cli, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "notaurl")
    # The option's default is read when the parser is built, as in a new process.
    stderr = _one_line_usage_error(cli("remediate"))

    assert "endpoint 'notaurl' is not an http:// or https:// URL" in stderr


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [("AWS_MAX_ATTEMPTS", "abc", "AWS_MAX_ATTEMPTS"), ("AWS_RETRY_MODE", "bogus", "bogus")],
)
def test_malformed_retry_setting_is_a_usage_error(cli, monkeypatch, variable, value, named):
    monkeypatch.setenv(variable, value)

    stderr = _one_line_usage_error(cli("audit"))

    assert named in stderr


def test_unknown_profile_from_aws_profile_is_named(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "prod-typo")

    stderr = _one_line_usage_error(cli("audit"))

    assert stderr.startswith("error: AWS profile 'prod-typo' not found")


@pytest.mark.parametrize("prefixes", ["/", "/breakglass/,/"])
def test_root_path_prefix_option_is_refused_before_any_call(cli, make_user, prefixes):
    make_user("john", S3_FULL)

    stderr = _one_line_usage_error(cli("audit", "--exempt-user-path-prefixes", prefixes))

    assert "would exempt every user" in stderr
    assert "(command-line option --exempt-user-path-prefixes)" in stderr


def test_exempt_user_name_iam_cannot_have_is_refused(cli):
    stderr = _one_line_usage_error(cli("audit", "--exempt-user-names", "jürgen"))

    assert "'jürgen'" in stderr


def test_checked_inline_policies_left_on_a_user_are_reported(cli, iam, make_user):
    make_user("carol", S3_FULL, inline=("s3-list",))
    make_user("dave", inline=("ssm-session",))

    run = cli("remediate", "--apply", "--check-inline-policies", "--format", "json")

    assert run.code == 0
    results = json.loads(run.stdout)["Results"]
    statuses = {result["UserName"]: result["Status"] for result in results}
    assert statuses == {"carol": "MOVED", "dave": "NOTHING_TO_MOVE"}
    notes = [line for line in run.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [
        f"note: {name} keeps its inline policies ({policy}), so --check-inline-policies "
        "still finds it NON_COMPLIANT: add --move-inline-policies to move them"
        for name, policy in (("carol", "s3-list"), ("dave", "ssm-session"))
    ]
    assert iam.list_user_policies(UserName="dave")["PolicyNames"] == ["ssm-session"]


def test_no_inline_note_when_inline_policies_are_moved_or_not_checked(cli, make_user):
    make_user("carol", S3_FULL, inline=("s3-list",))

    for argv in (
        ("remediate", "--check-inline-policies", "--move-inline-policies"),
        ("remediate",),
    ):
        assert "note:" not in cli(*argv).stderr


@pytest.mark.parametrize("target", ["audit", "remediate"])
def test_make_target_prints_only_the_commands_output(target):
    # `make audit ARGS="--format json" > report.json` must give a JSON file: make must not
    # echo the command line onto the program's stdout.
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    done = subprocess.run(  # noqa: S603 - fixed argv; PATH is the test's own
        ["make", "--no-print-directory", target, "ARGS=--help"],  # noqa: S607 - as the user runs it
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: no-direct-policies {target} ")


def test_long_echoed_value_is_shortened(cli, make_user):
    make_user("john", S3_FULL)
    pasted = "x" * 300

    stderr = cli("remediate", "--user", pasted).stderr

    assert stderr == (
        f"error: no IAM user named '{'x' * 60}...' (300 characters) in this account: "
        "check --user (user names are case-sensitive)\n"
    )


def test_long_endpoint_is_shortened(cli):
    endpoint = "ftp://" + "e" * 500

    stderr = _one_line_usage_error(cli("audit", "--endpoint-url", endpoint))

    assert f"endpoint '{endpoint[:60]}...' (506 characters) is not an http" in stderr
