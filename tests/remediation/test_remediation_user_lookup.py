"""Finding the user by ID: Config's record in one call, confirmed by GetUser; ListUsers otherwise.

No IAM API looks a user up by ID. Scanning ``ListUsers`` costs N/1000 calls per
remediation, so remediating every user of a large account costs about
N^2/1000; Config's ``ListDiscoveredResources`` answers in one call.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto.iam.models import iam_backends
from remediation_helpers import S3_FULL

from no_direct_policies.move import iam_reads
from no_direct_policies.move import request as move_request
from no_direct_policies.move.iam_reads import find_user_name
from no_direct_policies.move.request import (
    RemediationRefused,
    move_user_policies,
    parse_payload,
)
from no_direct_policies.simulation.account import ACCOUNT_ID, REGION
from no_direct_policies.simulation.config_service import ConfigService

MANY_USERS = 5000
QUERY = {"resourceType": "AWS::IAM::User"}


def _counted(client: Any, service: str) -> Counter[str]:
    calls: Counter[str] = Counter()
    client.meta.events.register(
        f"before-call.{service}.*", lambda model, **_: calls.update([model.name])
    )
    return calls


@pytest.fixture
def iam_calls(iam) -> Counter[str]:
    return _counted(iam, "iam")


@pytest.fixture
def config_client(aws_account) -> Any:
    return boto3.client("config", region_name=REGION)


@pytest.fixture
def config_calls(config_client) -> Counter[str]:
    return _counted(config_client, "config")


@pytest.fixture
def recorder(aws_account) -> Iterator[ConfigService]:
    """Config with an up-to-date record of the account's IAM users (the demo's stand-in)."""
    with ConfigService("IAM_USER_NO_DIRECT_POLICIES").serving() as service:
        yield service


@pytest.fixture
def many_users(iam) -> Iterator[None]:
    """5,000 other users, made in moto directly (through the API they would take a minute)."""
    backend = iam_backends[ACCOUNT_ID]["aws"]
    names = [f"bulk-{n:04}" for n in range(MANY_USERS)]
    for name in names:
        backend.create_user(REGION, name)
    yield
    for name in names:
        backend.users.pop(name, None)


def _stubbed(config_client: Any, user_id: str, name: str | None) -> Stubber:
    """Config answering the lookup of ``user_id`` with ``name`` (None: not recorded)."""
    stubber = Stubber(config_client)
    found = [] if name is None else [{**QUERY, "resourceId": user_id, "resourceName": name}]
    stubber.add_response(
        "list_discovered_resources",
        {"resourceIdentifiers": found},
        {**QUERY, "resourceIds": [user_id]},
    )
    stubber.activate()
    return stubber


def test_one_config_call_and_one_get_user_find_a_user_among_5000(
    iam, make_user, many_users, recorder, *, config_client, iam_calls, config_calls
):
    user_id = make_user("zoe")["UserId"]

    iam_calls.clear()
    assert find_user_name(iam, user_id, config_client) == "zoe"

    assert config_calls == {"ListDiscoveredResources": 1}
    assert iam_calls == {"GetUser": 1}


def test_a_user_config_has_not_recorded_is_found_with_list_users(
    iam, make_user, config_client, iam_calls, config_calls
):
    # moto's Config records no IAM user, as Config in a region that records no global types.
    user_id = make_user("yann")["UserId"]

    iam_calls.clear()
    assert find_user_name(iam, user_id, config_client) == "yann"

    assert config_calls == {"ListDiscoveredResources": 1}
    assert iam_calls == {"ListUsers": 1}


def test_a_renamed_user_is_found_by_id_not_by_configs_old_name(
    iam, make_user, config_client, iam_calls
):
    user_id = make_user("old-name")["UserId"]
    iam.update_user(UserName="old-name", NewUserName="new-name")
    stubber = _stubbed(config_client, user_id, "old-name")

    iam_calls.clear()
    assert find_user_name(iam, user_id, config_client) == "new-name"

    stubber.assert_no_pending_responses()
    assert iam_calls == {"GetUser": 1, "ListUsers": 1}


def test_a_name_now_held_by_a_new_user_is_not_taken_for_the_old_one(
    iam, make_user, config_client, iam_calls
):
    old_id = make_user("carol")["UserId"]
    iam.delete_user(UserName="carol")
    make_user("carol")  # same name, new ID: not the user Config evaluated
    _stubbed(config_client, old_id, "carol")

    iam_calls.clear()
    with pytest.raises(RemediationRefused, match=f"No IAM user has the ID {old_id}"):
        find_user_name(iam, old_id, config_client)

    assert iam_calls == {"GetUser": 1, "ListUsers": 1}


def test_config_naming_a_user_that_is_gone_falls_back_to_list_users(
    iam, make_user, config_client, iam_calls
):
    user_id = make_user("kept")["UserId"]
    _stubbed(config_client, user_id, "no-such-user")

    iam_calls.clear()
    assert find_user_name(iam, user_id, config_client) == "kept"
    assert iam_calls == {"GetUser": 1, "ListUsers": 1}


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "NoAvailableConfigurationRecorderException"]
)
def test_config_that_cannot_be_asked_here_falls_back_to_list_users(
    iam, make_user, config_client, iam_calls, *, caplog, code
):
    user_id = make_user("ines")["UserId"]
    stubber = Stubber(config_client)
    stubber.add_client_error("list_discovered_resources", code, http_status_code=400)
    stubber.activate()

    iam_calls.clear()
    with caplog.at_level(logging.WARNING, logger=iam_reads.__name__):
        assert find_user_name(iam, user_id, config_client) == "ines"

    assert iam_calls == {"ListUsers": 1}
    assert code in caplog.text


def test_config_without_credentials_or_endpoint_falls_back_to_list_users(
    iam, make_user, config_client, iam_calls, *, caplog
):
    # A command line run with --profile or --endpoint-url asks Config with the default
    # settings when a user is renamed mid-run; none there means ListUsers, not a stop.
    from botocore.exceptions import NoCredentialsError

    user_id = make_user("jack")["UserId"]

    def no_credentials(**_kwargs: Any) -> None:
        raise NoCredentialsError

    config_client.meta.events.register("before-call.config.ListDiscoveredResources", no_credentials)
    iam_calls.clear()
    with caplog.at_level(logging.WARNING, logger=iam_reads.__name__):
        assert find_user_name(iam, user_id, config_client) == "jack"

    assert iam_calls == {"ListUsers": 1}
    assert "Config cannot be asked" in caplog.text


@pytest.mark.parametrize("code", ["ThrottlingException", "ValidationException"])
def test_other_config_errors_surface_and_nothing_is_listed(
    iam, make_user, config_client, iam_calls, code
):
    # Throttling is retried by the client's standard retries; what is left is not hidden.
    user_id = make_user("hugo")["UserId"]
    stubber = Stubber(config_client)
    stubber.add_client_error("list_discovered_resources", code, http_status_code=400)
    stubber.activate()

    iam_calls.clear()
    with pytest.raises(ClientError, match=code):
        find_user_name(iam, user_id, config_client)

    assert iam_calls == {}


def test_the_config_client_retries_like_the_iam_client(aws_account):
    client = iam_reads.new_config_client()

    assert client.meta.service_model.service_name == "config"
    assert client.meta.config.retries == move_request.RETRY_CONFIG.retries


def test_a_remediation_by_id_asks_config_and_never_lists_users(
    iam, make_user, many_users, recorder, iam_calls
):
    user_id = make_user("zoe", [S3_FULL])["UserId"]

    iam_calls.clear()
    result = move_user_policies(iam, parse_payload({"IAMResourceId": user_id}), sleep=lambda _: 0)

    assert result["Status"] == "MOVED"
    assert result["UserName"] == "zoe"
    assert recorder.calls == ["ListDiscoveredResources"]
    assert "ListUsers" not in iam_calls
