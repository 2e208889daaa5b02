"""Scenarios 23-25: configuration items rdklib would crash on or silently misjudge (an
unknown status, a user name or path of the wrong type, a history item without its
configuration) fail at the handler's boundary with a MalformedEvent naming the field, or,
for an item rdklib does not evaluate, become NOT_APPLICABLE."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from IAM_USER_NO_DIRECT_POLICIES import lambda_handler

from no_direct_policies.rule_event import MalformedEvent
from tests.rule.rule_fixtures import evaluation, expect_put_evaluations, load_event, load_json

ITEM = "invokingEvent.configurationItem"
OVERSIZED_ID = "AIDA7YHN4TGB8RFV2EDC6"
HISTORY_ITEM = f"history of AWS::IAM::User {OVERSIZED_ID}: configurationItems[0]"


def changed_item(
    mutate: Callable[[dict[str, Any]], None],
    rule_parameters: dict[str, str] | None = None,
    name: str = "change_user_one_managed_policy",
) -> dict[str, Any]:
    """A change event whose configuration item ``mutate`` has edited."""
    event = load_event(name, rule_parameters)
    invoking_event = json.loads(event["invokingEvent"])
    mutate(invoking_event["configurationItem"])
    event["invokingEvent"] = json.dumps(invoking_event)
    return event


def refused(rule_clients, event: dict[str, Any]) -> MalformedEvent:
    with pytest.raises(MalformedEvent) as raised:
        lambda_handler(event, None)
    assert rule_clients.built == []  # nothing evaluated, nothing put
    return raised.value


@pytest.mark.parametrize("status", ["ok", "Ok", "ResourceUpdated", "UNKNOWN"])
def test_scenario_23_unknown_status_is_refused_not_silently_not_applicable(rule_clients, status):
    def set_status(item):
        item["configurationItemStatus"] = status

    error = refused(rule_clients, changed_item(set_status))

    assert error.field == f"{ITEM}.configurationItemStatus"
    assert str(error) == (
        f"Malformed Config event: {ITEM}.configurationItemStatus is {status!r}; expected one "
        "of OK, ResourceDiscovered, ResourceNotRecorded, ResourceDeleted, "
        "ResourceDeletedNotRecorded."
    )


@pytest.mark.parametrize(
    ("status", "resource_type"),
    [
        ("ResourceDeletedNotRecorded", "AWS::IAM::User"),
        ("ResourceNotRecorded", "AWS::IAM::User"),
        ("OK", "AWS::IAM::Role"),
    ],
)
def test_scenario_23_documented_statuses_rdklib_skips_are_not_applicable(
    rule_clients, status, resource_type
):
    def set_status(item):
        item["configurationItemStatus"] = status
        item["resourceType"] = resource_type
        del item["configuration"]  # not read: the item is not evaluated

    expect_put_evaluations(
        rule_clients.config_stubber,
        [evaluation("AIDAIOSFODNN7EXAMPLE1", "NOT_APPLICABLE", resource_type=resource_type)],
    )
    result = lambda_handler(changed_item(set_status), None)

    assert [item["ComplianceType"] for item in result] == ["NOT_APPLICABLE"]


def _without_names(item):
    del item["configuration"]["userName"]
    del item["resourceName"]


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(item):
        item["configuration"][key] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "field", "shown", "expected"),
    [
        (
            _without_names,
            f"{ITEM}.resourceName",
            "missing",
            "the user name as a non-empty string (configuration.userName is missing or null)",
        ),
        (_set("userName", 123), f"{ITEM}.configuration.userName", "123", None),
        (_set("userName", ""), f"{ITEM}.configuration.userName", "''", None),
        (
            _set("path", ["/x/"]),
            f"{ITEM}.configuration.path",
            "['/x/']",
            "an IAM path string or null",
        ),
        (
            _set("tags", "ManagedBy=terraform"),
            f"{ITEM}.configuration.tags",
            "'ManagedBy=terraform'",
            "a map of strings, a list of {key, value} objects, or null",
        ),
        (
            _set("tags", [{"key": "ManagedBy"}]),
            f"{ITEM}.configuration.tags[0].value",
            "missing",
            "a string",
        ),
    ],
    ids=["no-name", "name-number", "name-empty", "path-list", "tags-string", "tag-no-value"],
)
def test_scenario_24_user_name_path_or_tags_of_the_wrong_type_are_refused(
    rule_clients, mutate, field, shown, expected
):
    # Exempt prefixes and tags set: the decision would read the path and the tags.
    parameters = {"ExemptUserPathPrefixes": "/breakglass/", "ExemptUserTags": "ManagedBy"}

    error = refused(rule_clients, changed_item(mutate, parameters))

    expected = expected or "the user name as a non-empty string"
    assert error.field == field
    assert str(error) == f"Malformed Config event: {field} is {shown}; expected {expected}."


def test_scenario_24_item_tags_map_of_non_strings_is_refused(rule_clients):
    error = refused(rule_clients, load_event("malformed_tags_string"))

    assert error.field == f"{ITEM}.tags"


def test_scenario_24_null_user_name_falls_back_to_the_resource_name(rule_clients):
    annotation = (
        "1 managed policy attached directly: ReadOnlyAccess. "
        "Attach it to a group and add the user to it."
    )
    expect_put_evaluations(
        rule_clients.config_stubber,
        [evaluation("AIDAIOSFODNN7EXAMPLE1", "NON_COMPLIANT", annotation)],
    )
    event = changed_item(lambda item: item["configuration"].update(userName=None, path=None))

    assert lambda_handler(event, None)[0]["ComplianceType"] == "NON_COMPLIANT"


def expect_history(rule_clients, mutate: Callable[[dict[str, Any]], None]) -> None:
    history = load_json("oversized_user_resource_config_history")
    mutate(history["configurationItems"][0])
    rule_clients.config_stubber.add_response(
        "get_resource_config_history",
        history,
        {"resourceType": "AWS::IAM::User", "resourceId": OVERSIZED_ID, "limit": 1},
    )


@pytest.mark.parametrize("status", ["ResourceDeleted", "ResourceDeletedNotRecorded"])
@pytest.mark.parametrize(
    "dropped",
    [
        ("configuration",),
        ("relationships",),
        ("supplementaryConfiguration",),
        ("configuration", "relationships", "supplementaryConfiguration"),
    ],
    ids="+".join,
)
def test_scenario_25_deleted_history_item_without_its_parts_is_not_applicable(
    rule_clients, status, dropped
):
    def deleted(item):
        item["configurationItemStatus"] = status
        for key in dropped:
            del item[key]

    expect_history(rule_clients, deleted)
    rule_clients.config_stubber.add_response("put_evaluations", {"FailedEvaluations": []})

    result = lambda_handler(load_event("oversized_user"), None)

    assert [(item["ComplianceResourceId"], item["ComplianceType"]) for item in result] == [
        (OVERSIZED_ID, "NOT_APPLICABLE")
    ]


@pytest.mark.parametrize(
    ("key", "field", "expected"),
    [
        (
            "configuration",
            f"configuration of AWS::IAM::User {OVERSIZED_ID} in its history",
            "a JSON string of an object",
        ),
        (
            "relationships",
            f"relationships of AWS::IAM::User {OVERSIZED_ID} in its history",
            "a list",
        ),
    ],
)
def test_scenario_25_evaluated_history_item_without_its_parts_is_refused(
    rule_clients, key, field, expected
):
    expect_history(rule_clients, lambda item: item.pop(key))

    with pytest.raises(MalformedEvent) as raised:
        lambda_handler(load_event("oversized_user"), None)

    assert raised.value.field == field
    assert str(raised.value) == f"Malformed Config event: {field} is missing; expected {expected}."
    assert rule_clients.built == ["config"]  # the history look-up; nothing was put


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda item: item.update(configurationItemStatus="ok"), "configurationItemStatus"),
        (
            lambda item: item.update(configuration=json.dumps({"path": "/", "userName": 7})),
            "configuration.userName",
        ),
    ],
    ids=["status", "user-name"],
)
def test_scenario_25_history_item_status_and_user_name_are_checked(rule_clients, mutate, field):
    expect_history(rule_clients, mutate)

    with pytest.raises(MalformedEvent) as raised:
        lambda_handler(load_event("oversized_user"), None)

    assert field in raised.value.field
