"""Scenarios 20 and 21: events that are not shaped as Config sends them fail at the
handler's boundary with one MalformedEvent naming the field and the value, before rdklib
reads them (where they were bare KeyError / TypeError / IndexError, or a silent verdict)."""

from __future__ import annotations

import pytest
from IAM_USER_NO_DIRECT_POLICIES import lambda_handler

from no_direct_policies.rule_event import MalformedEvent
from tests.rule.rule_fixtures import load_event

CONFIGURATION = "invokingEvent.configurationItem.configuration"


@pytest.mark.parametrize(
    ("event_name", "field", "shown", "expected"),
    [
        (
            "malformed_event_left_scope_string",
            "eventLeftScope",
            "'false'",
            "a JSON boolean (true or false)",
        ),
        (
            "malformed_rule_parameters_list",
            "ruleParameters",
            """'["ExemptUserNames", "breakglass"]'""",
            "a JSON string of an object",
        ),
        (
            "malformed_attached_policies_string",
            f"{CONFIGURATION}.attachedManagedPolicies",
            "'arn:aws:iam::aws:policy/ReadOnlyAccess'",
            "a list or null",
        ),
        (
            "malformed_user_policy_list_object",
            f"{CONFIGURATION}.userPolicyList",
            "{'policyName': 's3-read'}",
            "a list or null",
        ),
        ("malformed_missing_result_token", "resultToken", "missing", "a non-empty string"),
        (
            "malformed_assume_role_mode_boolean",
            "ruleParameters.AssumeRoleMode",
            "False",
            "a string (Config passes every rule parameter as a string)",
        ),
        ("malformed_missing_message_type", "invokingEvent.messageType", "missing", "a string"),
    ],
)
def test_scenario_20_malformed_event_fails_naming_the_field_and_value(
    rule_clients, event_name, field, shown, expected
):
    with pytest.raises(MalformedEvent) as raised:
        lambda_handler(load_event(event_name), None)

    assert raised.value.field == field
    assert str(raised.value) == f"Malformed Config event: {field} is {shown}; expected {expected}."
    assert rule_clients.built == []  # nothing evaluated, nothing put


@pytest.mark.parametrize("event_name", ["change_user_managed_policies", "scheduled"])
def test_scenario_20_assume_role_mode_string_not_true_or_false_is_refused(rule_clients, event_name):
    event = load_event(event_name, {"AssumeRoleMode": "no"})

    with pytest.raises(MalformedEvent, match=r"ruleParameters.AssumeRoleMode is 'no'; expected"):
        lambda_handler(event, None)
    assert rule_clients.built == []


def test_scenario_20_long_value_is_shortened_in_the_message(rule_clients):
    event = load_event("change_user_managed_policies")
    event["eventLeftScope"] = "x" * 500

    with pytest.raises(MalformedEvent) as raised:
        lambda_handler(event, None)

    assert f"eventLeftScope is '{'x' * 76}...; expected" in str(raised.value)


def test_scenario_21_oversized_item_without_history_names_the_resource(rule_clients):
    rule_clients.config_stubber.add_response(
        "get_resource_config_history",
        {"configurationItems": []},
        {"resourceType": "AWS::IAM::User", "resourceId": "AIDA7YHN4TGB8RFV2EDC6", "limit": 1},
    )

    with pytest.raises(MalformedEvent) as raised:
        lambda_handler(load_event("oversized_user"), None)

    assert raised.value.field == "invokingEvent.configurationItemSummary.resourceId"
    assert str(raised.value) == (
        "Malformed Config event: invokingEvent.configurationItemSummary.resourceId is "
        "'AIDA7YHN4TGB8RFV2EDC6'; expected a resource with recorded history, but "
        "GetResourceConfigHistory returned no configuration item for AWS::IAM::User "
        "AIDA7YHN4TGB8RFV2EDC6 (not recorded, or deleted since)."
    )
    assert rule_clients.built == ["config"]  # the history look-up; nothing was put
