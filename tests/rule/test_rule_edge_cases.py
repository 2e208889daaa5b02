"""The rule on Config events its scenario fixtures do not cover: parameter values that
look valid but are not, and annotations of users with many long policy names."""

from __future__ import annotations

import json

import pytest
from IAM_USER_NO_DIRECT_POLICIES import RuleInvocationError, lambda_handler

from no_direct_policies.compliance import (
    ANNOTATION_LIMIT,
    _render,
    non_compliant_annotation,
    parse_policy_arns,
)
from tests.rule.rule_fixtures import evaluation, expect_put_evaluations, load_event

USER_ID = "AIDAJQABLZS4A3QDU576Q"  # the user of change_user_managed_policies.json


def _with_policies(managed: list[str], inline: list[str], rule_parameters: dict[str, str]) -> dict:
    """The change event of change_user_managed_policies.json with other policy lists."""
    event = load_event("change_user_managed_policies", rule_parameters)
    invoking_event = json.loads(event["invokingEvent"])
    configuration = invoking_event["configurationItem"]["configuration"]
    configuration["attachedManagedPolicies"] = [
        {"policyName": name, "policyArn": f"arn:aws:iam::123456789012:policy/{name}"}
        for name in managed
    ]
    configuration["userPolicyList"] = [
        {"policyName": name, "policyDocument": "%7B%7D"} for name in inline
    ]
    event["invokingEvent"] = json.dumps(invoking_event)
    return event


def _invalid_parameter(clients, rule_parameters: dict[str, str]) -> str:
    event = load_event("change_user_managed_policies", rule_parameters)
    with pytest.raises(RuleInvocationError) as raised:
        lambda_handler(event, None)
    assert clients.built == []  # nothing evaluated, nothing put
    return str(raised.value)


@pytest.mark.parametrize("names", ["älice", "breakglass, jürgen", "管理者"])
def test_exempt_user_name_with_characters_iam_does_not_allow_is_rejected(rule_clients, names):
    # IAM user names are ASCII ([\w+=,.@-] with an ASCII \w): such a name exempts nobody.
    message = _invalid_parameter(rule_clients, {"ExemptUserNames": names})

    assert "ExemptUserNames" in message
    assert "which is not an IAM user name" in message


def test_exempt_policy_arn_with_non_ascii_name_is_rejected():
    with pytest.raises(ValueError, match="ExemptPolicyArns holds"):
        parse_policy_arns("arn:aws:iam::123456789012:policy/Zugriffsprüfung")


@pytest.mark.parametrize("prefixes", ["/", "/breakglass/, /", " / "])
def test_root_path_prefix_that_would_exempt_every_user_is_rejected(rule_clients, prefixes):
    message = _invalid_parameter(rule_clients, {"ExemptUserPathPrefixes": prefixes})

    assert "ExemptUserPathPrefixes holds '/'" in message
    assert "exempt every user" in message


def test_annotation_keeps_a_policy_name_that_fits_beside_cut_inline_names(rule_clients):
    # 20 managed names of 101 characters and 5 inline names of 121: not all fit, but one
    # managed name does; the annotation must not drop every name.
    managed = [f"{'P' * 100}{n}" for n in range(10)] + [f"{'Q' * 99}{n:02d}" for n in range(10)]
    inline = [f"{'I' * 120}{n}" for n in range(5)]
    expected = (
        f"20 managed policies attached directly: {managed[0]}, ... and 19 more; "
        "5 inline policies on the user: ... and 5 more. "
        "Move them to a group and add the user to it."
    )
    assert len(expected) <= ANNOTATION_LIMIT
    expect_put_evaluations(
        rule_clients.config_stubber, [evaluation(USER_ID, "NON_COMPLIANT", expected)]
    )

    result = lambda_handler(_with_policies(managed, inline, {"CheckInlinePolicies": "true"}), None)

    assert result[0]["Annotation"] == expected


@pytest.mark.parametrize(
    ("managed", "inline"),
    [
        ([f"{'P' * 99}{n:02d}" for n in range(20)], [f"{'I' * 120}{n}" for n in range(5)]),
        (["M" * 128], ["I" * 128, "J" * 128]),
        (["M" * 128, "N" * 128], ["I" * 128]),
        ([f"Policy{n:02d}" for n in range(20)], [f"{'I' * 127}{n}" for n in range(3)]),
    ],
    ids=["many-long-both", "one-long-managed-two-inline", "two-long-managed-one-inline", "mixed"],
)
def test_annotation_shows_as_many_names_as_fit(managed, inline):
    text = non_compliant_annotation(managed, inline)

    assert len(text) <= ANNOTATION_LIMIT
    assert text.endswith("to a group and add the user to it.")
    # No name could be added without breaking the limit: nothing was cut needlessly.
    shown_managed = sum(name in text for name in managed)
    shown_inline = sum(name in text for name in inline)
    if shown_managed < len(managed):
        assert len(_render(managed, inline, (shown_managed + 1, shown_inline))) > ANNOTATION_LIMIT
    if shown_inline < len(inline):
        assert len(_render(managed, inline, (shown_managed, shown_inline + 1))) > ANNOTATION_LIMIT
