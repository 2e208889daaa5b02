"""AWS failures end with one line naming the cause and a non-zero exit code, no traceback."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from cli_support import assert_one_line

from no_direct_policies.cli import main as cli_module

THROTTLED_BODY = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
    b"<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>11111111-2222-3333-4444-555555555555</RequestId></ErrorResponse>"
)


class _Body:
    """The raw body botocore reads from an HTTP response."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any):
        yield self.content


@pytest.fixture
def hooked_client(monkeypatch):
    """Make the CLI's IAM client carry extra botocore event handlers: (event, handler, first)."""
    hooks: list[tuple[str, Any, bool]] = []
    real_factory = cli_module.iam_client

    def factory(**kwargs: Any) -> Any:
        client = real_factory(**kwargs)
        for event, handler, first in hooks:
            register = client.meta.events.register_first if first else client.meta.events.register
            register(event, handler)
        return client

    monkeypatch.setattr(cli_module, "iam_client", factory)
    return hooks


def test_no_credentials(cli, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    line = assert_one_line(cli("audit"), 3)

    assert line == (
        "error: no usable AWS credentials (Unable to locate credentials): use --profile, "
        "set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )


def test_unknown_profile_is_a_usage_error(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))

    line = assert_one_line(cli("audit", "--profile", "prod-admin"), 2)

    assert line == (
        "error: AWS profile 'prod-admin' not found: check --profile / AWS_PROFILE against "
        "the profiles in ~/.aws/config"
    )


def test_access_denied_names_the_missing_permission(cli, hooked_client):
    def deny(**_: Any):
        return AWSResponse("https://iam.amazonaws.com/", 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": "User: arn:aws:iam::123456789012:user/x"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    hooked_client.append(("before-call.iam.GetAccountAuthorizationDetails", deny, False))

    line = assert_one_line(cli("audit"), 3)

    assert line == (
        "error: access denied to iam:GetAccountAuthorizationDetails (AccessDenied): grant "
        "iam:GetAccountAuthorizationDetails to the caller. User: arn:aws:iam::123456789012:user/x"
    )


def test_throttling_is_retried_then_reported(cli, hooked_client, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setattr("botocore.retries.standard.random.random", lambda: 0.0)  # no waiting
    sent: list[str] = []

    def throttle(request, **_: Any):
        sent.append(request.url)
        return AWSResponse(request.url, 400, {}, _Body(THROTTLED_BODY))

    hooked_client.append(("before-send.iam.GetAccountAuthorizationDetails", throttle, True))

    line = assert_one_line(cli("audit"), 3)

    assert len(sent) == 3  # botocore retried the throttled call before giving up
    assert line == (
        "error: AWS throttled iam:GetAccountAuthorizationDetails (Throttling) after 3 attempts: "
        "run again later, or allow more retries with AWS_MAX_ATTEMPTS"
    )


def test_unreachable_endpoint(cli, monkeypatch, free_port):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    endpoint = f"http://127.0.0.1:{free_port}"

    line = assert_one_line(cli("audit", "--endpoint-url", endpoint), 3)

    assert line == (
        f"error: cannot reach the AWS endpoint {endpoint}/: check --endpoint-url / "
        "AWS_ENDPOINT_URL and the network"
    )


REJECTED_BODY = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
    b"<Type>Sender</Type><Code>UnrecognizedClientException</Code>"
    b"<Message>The security token included in the request is invalid.</Message></Error>"
    b"<RequestId>11111111-2222-3333-4444-555555555555</RequestId></ErrorResponse>"
)
CREDENTIAL_FIX = (
    "use --profile, set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def test_rejected_credentials_at_an_endpoint_get_the_credential_hint(cli, monkeypatch, stranger):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    stranger.answer = (403, "text/xml", REJECTED_BODY)

    line = assert_one_line(cli("audit", "--endpoint-url", stranger.url), 3)

    assert line == (
        "error: AWS rejected the credentials (UnrecognizedClientException): The security token "
        f"included in the request is invalid. Refresh or replace them: {CREDENTIAL_FIX}"
    )


def test_failing_credential_process_gets_the_credential_hint(cli, monkeypatch, tmp_path, stranger):
    (tmp_path / "config").write_text("[profile broken]\ncredential_process = false\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)

    run = cli("audit", "--profile", "broken", "--endpoint-url", stranger.url)

    line = assert_one_line(run, 3)
    assert line.startswith("error: no usable AWS credentials (")
    assert line.endswith(CREDENTIAL_FIX)
    assert "endpoint" not in line
