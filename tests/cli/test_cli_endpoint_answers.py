"""An endpoint that is not AWS, or that never answers, ends with one line and exit 3;
endpoint and timeout options that cannot work are refused up front with exit 2."""

from __future__ import annotations

import time

import pytest
from cli_support import assert_one_line


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ((200, "text/html", b"<html><body>Welcome to nginx!</body></html>"), "HTTP 200, text/html"),
        ((200, "text/plain", b""), "HTTP 200, text/plain, 0 bytes"),
        ((502, "text/html", b"<html>Bad Gateway</html>"), "HTTP 502, text/html, 24 bytes"),
        ((403, "application/json", b'{"message": "Forbidden"}'), "HTTP 403, application/json"),
    ],
)
def test_answer_that_is_not_aws_is_exit_3_naming_the_endpoint(
    cli, monkeypatch, stranger, answer, detail
):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    stranger.answer = answer

    line = assert_one_line(cli("audit", "--endpoint-url", stranger.url), 3)

    assert line.startswith(
        f"error: the endpoint {stranger.url} did not answer "
        "iam:GetAccountAuthorizationDetails like AWS ("
    )
    assert detail in line
    assert line.endswith(
        "check --endpoint-url / AWS_ENDPOINT_URL points at AWS, a moto server or LocalStack"
    )


def test_silent_endpoint_gives_up_after_the_read_timeout(cli, monkeypatch, stranger):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    started = time.monotonic()

    run = cli("audit", "--endpoint-url", stranger.url, "--read-timeout", "0.5")

    assert time.monotonic() - started < 10
    line = assert_one_line(run, 3)
    assert line == (
        f"error: the AWS endpoint {stranger.url}/ accepted the connection but did not answer "
        "within the read timeout: check the endpoint, or allow longer with --read-timeout"
    )


def test_timeouts_reach_the_client(monkeypatch):
    from no_direct_policies.cli import main as cli_module

    built = []
    monkeypatch.setattr(cli_module, "iam_client", lambda **kwargs: built.append(kwargs) or 1 / 0)
    args = cli_module.build_parser().parse_args(
        ["audit", "--connect-timeout", "2.5", "--read-timeout", "7"]
    )

    with pytest.raises(ZeroDivisionError):
        cli_module._client(args)

    assert (built[0]["connect_timeout"], built[0]["read_timeout"]) == (2.5, 7.0)


def test_timeout_defaults_are_short_of_botocores_minutes():
    from no_direct_policies.cli import clients

    config = clients.iam_client(region="us-east-1").meta.config

    assert (config.connect_timeout, config.read_timeout) == (10.0, 30.0)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf"])
@pytest.mark.parametrize("option", ["--connect-timeout", "--read-timeout"])
def test_timeout_that_is_not_a_positive_number_is_a_usage_error(cli, option, value):
    line = assert_one_line(cli("audit", option, value), 2)

    assert line.startswith(f"error: argument {option}: {value!r} is not a positive number")


@pytest.mark.parametrize("endpoint", ["ftp://127.0.0.1:5000", "file:///etc/passwd", "notaurl"])
def test_endpoint_scheme_other_than_http_is_refused_up_front(cli, endpoint):
    line = assert_one_line(cli("remediate", "--apply", "--endpoint-url", endpoint), 2)

    assert line == (
        f"error: cannot set up the AWS client: endpoint {endpoint!r} is not an http:// or "
        "https:// URL. Check --endpoint-url / AWS_ENDPOINT_URL (e.g. http://127.0.0.1:5000)"
    )
