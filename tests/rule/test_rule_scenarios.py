"""The rule's scenarios (listed in IAM_USER_NO_DIRECT_POLICIES.py), end to end through
``lambda_handler``: Config event in, exact PutEvaluations and IAM calls out."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from botocore.exceptions import ClientError
from IAM_USER_NO_DIRECT_POLICIES import RuleInvocationError, lambda_handler

from tests.rule.rule_fixtures import (
    SCHEDULED_TIME,
    evaluation,
    expect_authorization_pages,
    expect_previous_evaluations,
    expect_put_evaluations,
    load_event,
    load_json,
    user_detail,
)

S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
TWO_POLICIES = (
    "2 managed policies attached directly: AmazonS3FullAccess, ReadOnlyAccess. "
    "Attach them to a group and add the user to it."
)
NO_MANAGED = "No managed policies attached directly."
ONLY_EXEMPT = "No managed policies attached directly other than those listed in ExemptPolicyArns."
S3_READ = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)


def run_change(rule_clients, event_name: str, expected: dict, **kwargs) -> list[dict]:
    """Invoke the handler with a change event and check it put exactly ``expected``."""
    expect_put_evaluations(rule_clients.config_stubber, [expected])
    result = lambda_handler(load_event(event_name, **kwargs), None)
    assert result == [expected]
    return result


@pytest.fixture
def clients(rule_clients):
    """Shorter name: the clients rdklib gets, and what it asked them."""
    return rule_clients


def test_scenario_1_attached_managed_policies_are_named(clients):
    run_change(
        clients,
        "change_user_managed_policies",
        evaluation("AIDAJQABLZS4A3QDU576Q", "NON_COMPLIANT", TWO_POLICIES),
    )


def test_scenario_2_one_policy_gets_a_singular_annotation(clients):
    annotation = (
        "1 managed policy attached directly: ReadOnlyAccess. "
        "Attach it to a group and add the user to it."
    )
    run_change(
        clients,
        "change_user_one_managed_policy",
        evaluation("AIDAIOSFODNN7EXAMPLE1", "NON_COMPLIANT", annotation),
    )


def test_scenario_3_user_without_attached_policies_is_compliant(clients):
    run_change(
        clients,
        "change_user_no_policies",
        evaluation("AIDA2KXN5ZHVQ7E3W4TYB", "COMPLIANT", NO_MANAGED),
    )


@pytest.mark.parametrize(
    ("event_name", "user_id"),
    [
        ("change_user_null_lists", "AIDA5GQ2HPRV6LMW9XJC3"),
        ("change_user_missing_lists", "AIDA7TBYC3MZ2QWE8RK4D"),
    ],
)
def test_scenario_4_null_or_missing_lists_count_as_empty(clients, event_name, user_id):
    run_change(clients, event_name, evaluation(user_id, "COMPLIANT", NO_MANAGED))


def test_scenario_5_long_annotation_is_cut_and_counts_the_rest(clients):
    annotation = (
        "10 managed policies attached directly: "
        "AmazonSageMakerPartnerServiceCatalogProductsCloudFormationServiceRolePolicy, "
        "AWS-SSM-RemediationAutomation-OperationalAccountAdministrationRolePolicy, "
        "... and 8 more. Attach them to a group and add the user to it."
    )
    assert len(annotation) <= 256
    run_change(
        clients,
        "change_user_many_policies",
        evaluation("AIDA2WQE7RTY4UIO9PAS1", "NON_COMPLIANT", annotation),
    )


def test_scenario_6_user_listed_in_exempt_user_names_is_not_applicable(clients):
    annotation = "User breakglass-admin is exempt: listed in the rule parameter ExemptUserNames."
    run_change(
        clients,
        "change_user_exempt_name",
        evaluation("AIDA3NDJ6QPXS4VF8WL2Z", "NOT_APPLICABLE", annotation),
    )


def test_scenario_7_user_under_exempt_path_prefix_is_not_applicable(clients):
    annotation = (
        "User path /breakglass/ is exempt: it starts with /breakglass/, "
        "listed in the rule parameter ExemptUserPathPrefixes."
    )
    run_change(
        clients,
        "change_user_exempt_path",
        evaluation("AIDA4MFK8RTY2XBN6CV3P", "NOT_APPLICABLE", annotation),
    )


def test_scenario_8_exempt_policy_alone_is_compliant(clients):
    run_change(
        clients,
        "change_user_exempt_policy_only",
        evaluation("AIDA6PLW3XRC9HTJ2BN8M", "COMPLIANT", ONLY_EXEMPT),
    )


def test_scenario_8_exempt_policy_is_not_named_beside_another(clients):
    annotation = (
        "1 managed policy attached directly: ReadOnlyAccess. "
        "Attach it to a group and add the user to it."
    )
    run_change(
        clients,
        "change_user_exempt_and_other_policy",
        evaluation("AIDA8VNB4ZQK5WYH3DS7J", "NON_COMPLIANT", annotation),
    )


def test_scenario_9_inline_policies_pass_when_not_checked(clients):
    run_change(
        clients,
        "change_user_inline_unchecked",
        evaluation("AIDA9RGT5KLM3PQZ8XW2C", "COMPLIANT", NO_MANAGED),
    )


def test_scenario_10_inline_policies_are_named_when_checked(clients):
    annotation = (
        "2 inline policies on the user: s3-reports-read, ssm-session. "
        "Move them to a group and add the user to it."
    )
    run_change(
        clients,
        "change_user_inline_checked",
        evaluation("AIDA9RGT5KLM3PQZ8XW2C", "NON_COMPLIANT", annotation),
    )


def test_scenario_11_change_is_decided_without_any_iam_client(clients):
    run_change(
        clients,
        "change_user_managed_policies",
        evaluation("AIDAJQABLZS4A3QDU576Q", "NON_COMPLIANT", TWO_POLICIES),
    )
    assert clients.built == ["config"]  # only for PutEvaluations
    assert clients.iam_calls == []


def test_scenario_12_oversized_item_is_fetched_and_result_is_json(clients):
    history = load_json("oversized_user_resource_config_history")
    item = history["configurationItems"][0]
    for key in ("configurationItemCaptureTime", "resourceCreationTime"):
        item[key] = datetime.fromisoformat(item[key])  # as botocore parses them
    clients.config_stubber.add_response(
        "get_resource_config_history",
        history,
        {"resourceType": "AWS::IAM::User", "resourceId": "AIDA7YHN4TGB8RFV2EDC6", "limit": 1},
    )
    put = evaluation(
        "AIDA7YHN4TGB8RFV2EDC6",
        "NON_COMPLIANT",
        TWO_POLICIES,
        timestamp=item["configurationItemCaptureTime"],
    )
    expect_put_evaluations(clients.config_stubber, [put])

    result = lambda_handler(load_event("oversized_user"), None)

    assert result == [{**put, "OrderingTimestamp": "2026-11-20T09:15:42.123000+00:00"}]
    assert json.loads(json.dumps(result)) == result
    assert clients.built == ["config", "config"]
    assert clients.iam_calls == []


@pytest.mark.parametrize(
    ("event_name", "resource_id", "resource_type"),
    [
        ("change_user_deleted", "AIDA3ZXC8VBN5MLK2JHG4", "AWS::IAM::User"),
        ("change_user_left_scope", "AIDA4QAZ7WSX2EDC9RFV5", "AWS::IAM::User"),
        ("change_role_out_of_scope", "AROA6OLP9IKJ4UHY7TGB2", "AWS::IAM::Role"),
    ],
)
def test_scenario_13_deleted_left_scope_or_other_type_is_not_applicable(
    clients, event_name, resource_id, resource_type
):
    # Each of these items would be NON_COMPLIANT (or fail: the deleted one has no
    # configuration) if the rule evaluated it.
    run_change(
        clients,
        event_name,
        evaluation(resource_id, "NOT_APPLICABLE", resource_type=resource_type),
    )


def test_scenario_14_missing_event_left_scope_means_in_scope(clients):
    event = load_event("change_user_without_event_left_scope")
    assert "eventLeftScope" not in event
    annotation = (
        "1 managed policy attached directly: ReadOnlyAccess. "
        "Attach it to a group and add the user to it."
    )
    run_change(
        clients,
        "change_user_without_event_left_scope",
        evaluation("AIDA5TGB8YHN3UJM6IKL7", "NON_COMPLIANT", annotation),
    )


def test_scenario_15_sweep_evaluates_every_user_with_one_call(clients, iam):
    iam.create_group(GroupName="developers")
    iam.attach_group_policy(GroupName="developers", PolicyArn=READ_ONLY)
    users = {}
    for name, path in (("alice", "/"), ("bob", "/"), ("carol", "/breakglass/"), ("dave", "/")):
        users[name] = iam.create_user(UserName=name, Path=path)["User"]["UserId"]
    iam.attach_user_policy(UserName="alice", PolicyArn=S3_FULL)
    iam.attach_user_policy(UserName="alice", PolicyArn=READ_ONLY)
    iam.add_user_to_group(GroupName="developers", UserName="bob")
    iam.attach_user_policy(UserName="carol", PolicyArn=ADMIN)
    iam.put_user_policy(UserName="dave", PolicyName="s3-reports-read", PolicyDocument=S3_READ)
    clients.iam_calls.clear()  # only the rule's calls count
    carol = (
        "User path /breakglass/ is exempt: it starts with /breakglass/, "
        "listed in the rule parameter ExemptUserPathPrefixes."
    )
    expected = [
        evaluation(users["alice"], "NON_COMPLIANT", TWO_POLICIES, SCHEDULED_TIME),
        evaluation(users["bob"], "COMPLIANT", NO_MANAGED, SCHEDULED_TIME),
        evaluation(users["carol"], "NOT_APPLICABLE", carol, SCHEDULED_TIME),
        evaluation(users["dave"], "COMPLIANT", NO_MANAGED, SCHEDULED_TIME),
    ]
    expect_previous_evaluations(clients.config_stubber, [[]])
    expect_put_evaluations(clients.config_stubber, expected)

    event = load_event("scheduled", {"ExemptUserPathPrefixes": "/breakglass/"})
    result = lambda_handler(event, None)

    assert sorted(result, key=lambda item: item["ComplianceResourceId"]) == sorted(
        expected, key=lambda item: item["ComplianceResourceId"]
    )
    assert clients.iam_calls == [
        ("GetAccountAuthorizationDetails", {"Filter": ["User"], "MaxItems": 1000})
    ]


def test_scenario_15_sweep_of_an_account_without_users_puts_an_empty_batch(clients):
    # rdklib tells Config the run finished with one empty PutEvaluations (botocore's model
    # allows 0 to 100 evaluations).
    expect_previous_evaluations(clients.config_stubber, [[]])
    clients.config_stubber.add_response(
        "put_evaluations",
        {"FailedEvaluations": []},
        {"Evaluations": [], "ResultToken": "TESTMODE", "TestMode": True},
    )

    assert lambda_handler(load_event("scheduled"), None) == []
    assert clients.iam_calls == [
        ("GetAccountAuthorizationDetails", {"Filter": ["User"], "MaxItems": 1000})
    ]


def test_scenario_15_sweep_pages_through_more_than_1000_users(clients, iam_stub):
    read_only = [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    details = [user_detail(n, read_only if n % 3 == 0 else None) for n in range(2345)]
    clients.use_iam(iam_stub.client)
    iam_calls = expect_authorization_pages(iam_stub, details)
    ro_annotation = (
        "1 managed policy attached directly: ReadOnlyAccess. "
        "Attach it to a group and add the user to it."
    )
    expected = [
        evaluation(
            detail["UserId"],
            "NON_COMPLIANT" if detail["AttachedManagedPolicies"] else "COMPLIANT",
            ro_annotation if detail["AttachedManagedPolicies"] else NO_MANAGED,
            SCHEDULED_TIME,
        )
        for detail in details
    ]
    expect_previous_evaluations(clients.config_stubber, [[]])
    put_calls = expect_put_evaluations(clients.config_stubber, expected)

    result = lambda_handler(load_event("scheduled"), None)

    assert (iam_calls, put_calls) == (3, 24)
    assert [name for name, _ in clients.iam_calls] == ["GetAccountAuthorizationDetails"] * 3
    assert [params.get("Marker") for _, params in clients.iam_calls] == [
        None,
        "marker-1",
        "marker-2",
    ]
    assert len(result) == 2345
    assert result == expected


def test_scenario_16_users_gone_since_the_last_sweep_become_not_applicable(clients, iam):
    alice = iam.create_user(UserName="alice")["User"]["UserId"]
    gone = "AIDAZZZZZZZZZZZZZZZZZ"
    expect_previous_evaluations(clients.config_stubber, [[alice], [gone]])
    expected = [
        evaluation(gone, "NOT_APPLICABLE", timestamp=SCHEDULED_TIME),
        evaluation(alice, "COMPLIANT", NO_MANAGED, SCHEDULED_TIME),
    ]
    expect_put_evaluations(clients.config_stubber, expected)

    assert lambda_handler(load_event("scheduled"), None) == expected


@pytest.mark.parametrize(
    "case", load_json("bad_rule_parameters"), ids=lambda case: case["ruleParameters"][:40]
)
@pytest.mark.parametrize("event_name", ["change_user_managed_policies", "scheduled"])
def test_scenario_17_bad_parameter_fails_the_invocation_and_puts_nothing(clients, event_name, case):
    event = load_event(event_name)
    event["ruleParameters"] = case["ruleParameters"]

    with pytest.raises(RuleInvocationError) as raised:
        lambda_handler(event, None)

    assert str(raised.value) == (
        f"InvalidParameterValueException: {case['message']} (Parameter value is invalid)"
    )
    assert case["parameter"] in case["message"]
    assert case["value"] in case["message"]
    assert clients.built == []  # the config stubber would also reject any call
    assert clients.iam_calls == []


@pytest.mark.parametrize("code", ["Throttling", "AccessDenied"])
def test_scenario_18_iam_error_in_sweep_fails_the_invocation(clients, iam_stub, code):
    clients.use_iam(iam_stub.client)
    iam_stub.add_client_error(
        "get_account_authorization_details",
        service_error_code=code,
        service_message="Rate exceeded" if code == "Throttling" else "not authorized",
        http_status_code=400 if code == "Throttling" else 403,
        expected_params={"Filter": ["User"], "MaxItems": 1000},
    )

    with pytest.raises(RuleInvocationError, match=f"^{code}: "):
        lambda_handler(load_event("scheduled"), None)
    assert clients.built == ["iam"]  # no Config client: nothing was put


def test_scenario_18_put_evaluations_error_fails_the_invocation(clients):
    clients.config_stubber.add_client_error(
        "put_evaluations", service_error_code="ThrottlingException", http_status_code=400
    )

    with pytest.raises(RuleInvocationError, match=r"^ThrottlingException: "):
        lambda_handler(load_event("change_user_managed_policies"), None)


def test_scenario_18_config_history_error_fails_the_invocation(clients):
    clients.config_stubber.add_client_error(
        "get_resource_config_history", service_error_code="AccessDeniedException"
    )

    with pytest.raises(ClientError, match="AccessDeniedException"):
        lambda_handler(load_event("oversized_user"), None)


def test_scenario_19_rdklib_role_parameters_are_accepted(clients):
    parameters = {
        "AssumeRoleMode": "false",
        "ExecutionRoleName": "config-rule-reader",
        "ExecutionRoleRegion": "us-east-1",
        "ExemptUserNames": "someone-else",
    }
    run_change(
        clients,
        "change_user_managed_policies",
        evaluation("AIDAJQABLZS4A3QDU576Q", "NON_COMPLIANT", TWO_POLICIES),
        rule_parameters=parameters,
    )


def test_unknown_message_type_fails_the_invocation(clients):
    event = load_event("scheduled")
    event["invokingEvent"] = json.dumps(
        {"messageType": "ConfigurationSnapshotDeliveryCompleted", "recordVersion": "1.0"}
    )

    with pytest.raises(RuleInvocationError, match=r"\(Unexpected message type\)$"):
        lambda_handler(event, None)
    assert clients.built == []
