"""Connection options: the standard credential chain, ``--profile`` and ``--region``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cli_support import S3_FULL

from no_direct_policies.cli import clients as cli_clients
from no_direct_policies.cli import main as cli_module


@pytest.fixture
def clients(monkeypatch) -> list[Any]:
    """The IAM clients the CLI builds, recorded."""
    built: list[Any] = []
    real_factory = cli_module.iam_client

    def factory(**kwargs: Any) -> Any:
        built.append(real_factory(**kwargs))
        return built[-1]

    monkeypatch.setattr(cli_module, "iam_client", factory)
    return built


def test_region_option_reaches_the_client(cli, clients, make_user):
    make_user("john", S3_FULL)

    run = cli("audit", "--region", "eu-west-1", "--format", "json")

    assert run.code == 1
    # IAM is global: any commercial region signs for the one global endpoint.
    assert clients[0].meta.endpoint_url == "https://iam.amazonaws.com"


def test_region_selects_the_partition():
    client = cli_clients.iam_client(region="cn-north-1")

    assert client.meta.endpoint_url == "https://iam.cn-north-1.amazonaws.com.cn"


def test_works_without_a_configured_region(cli, clients, monkeypatch, make_user):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    make_user("alice")

    run = cli("audit", "--format", "json")

    assert run.code == 0
    assert json.loads(run.stdout)["Summary"]["COMPLIANT"] == 1


def test_profile_credentials_are_used(cli, clients, monkeypatch, tmp_path, make_user):
    make_user("john", S3_FULL)
    (tmp_path / "credentials").write_text(
        "[audit-ro]\naws_access_key_id = AKIAPROFILEKEY000001\naws_secret_access_key = secret\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)

    run = cli("audit", "--profile", "audit-ro", "--format", "json")

    assert run.code == 1
    assert [user["UserName"] for user in json.loads(run.stdout)["Users"]] == ["john"]
    credentials = clients[0]._request_signer._credentials
    assert credentials.access_key == "AKIAPROFILEKEY000001"


def test_throttling_retries_default_to_ten_attempts(monkeypatch):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)

    client = cli_clients.iam_client(region="us-east-1")

    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 10}
