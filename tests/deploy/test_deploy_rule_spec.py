"""Reading parameters.json for the templates: what is taken, and what is refused with which fix."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from deploy import build
from deploy.rule_resources import remediation_configuration
from deploy.rule_spec import RuleSpecError, load_rule_spec, rule_spec_from_mapping

BASE: dict[str, Any] = {
    "Version": "1.0",
    "Parameters": {
        "RuleName": "IAM_USER_NO_DIRECT_POLICIES",
        "Description": "Checks users.",
        "SourceRuntime": "python3.12-lib",
        "CodeKey": "IAM_USER_NO_DIRECT_POLICIES.zip",
        "InputParameters": '{"Required": "x"}',
        "OptionalParameters": '{"ExemptUserNames": "", "CheckInlinePolicies": "false"}',
        "SourceEvents": "AWS::IAM::User",
        "SourcePeriodic": "TwentyFour_Hours",
        "Remediation": {
            "Automatic": "true",
            "MaximumAutomaticAttempts": "3",
            "RetryAttemptSeconds": 600,
            "TargetId": "MoveIAMUserPoliciesToGroup",
            "TargetType": "SSM_DOCUMENT",
            "Parameters": {
                "AutomationAssumeRole": {"StaticValue": {"Values": ["arn:placeholder"]}},
                "HelperFunctionName": {"StaticValue": {"Values": ["placeholder"]}},
                "IAMResourceId": {"ResourceValue": {"Value": "RESOURCE_ID"}},
                "DryRun": {"StaticValue": {"Values": ["false"]}},
            },
        },
    },
}


def with_parameters(**changes: Any) -> dict[str, Any]:
    """BASE with some Parameters replaced (None removes one)."""
    document = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            del document["Parameters"][key]
        else:
            document["Parameters"][key] = value
    return document


def with_remediation(**changes: Any) -> dict[str, Any]:
    """BASE with some Remediation fields replaced."""
    document = copy.deepcopy(BASE)
    document["Parameters"]["Remediation"].update(changes)
    return document


def test_spec_takes_name_runtime_triggers_parameters_and_remediation():
    spec = rule_spec_from_mapping(BASE)
    assert spec.name == "IAM_USER_NO_DIRECT_POLICIES"
    assert spec.runtime == "python3.12"
    assert spec.resource_types == ("AWS::IAM::User",)
    assert spec.maximum_execution_frequency == "TwentyFour_Hours"
    # Required and optional parameters together, with their defaults.
    assert spec.input_parameters == {
        "ExemptUserNames": "",
        "CheckInlinePolicies": "false",
        "Required": "x",
    }
    remediation = spec.remediation
    assert (remediation.automatic, remediation.maximum_automatic_attempts) == (True, 3)
    assert remediation.retry_attempt_seconds == 600
    assert remediation.resource_parameters == {"IAMResourceId": "RESOURCE_ID"}
    assert remediation.static_parameters["DryRun"] == ["false"]


def test_the_projects_parameters_json_is_deployable():
    spec = load_rule_spec(build.PARAMETERS_FILE)
    assert spec.name == "IAM_USER_NO_DIRECT_POLICIES"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (with_parameters(RuleName=None), "Parameters.RuleName is missing; add it"),
        (
            with_parameters(SourcePeriodic="Daily"),
            "SourcePeriodic is 'Daily'; use one of One_Hour, Three_Hours",
        ),
        (
            with_parameters(SourceEvents="", SourcePeriodic=""),
            "neither SourceEvents nor SourcePeriodic",
        ),
        (with_parameters(OptionalParameters="{oops"), "OptionalParameters is not valid JSON"),
        (
            with_parameters(InputParameters='{"Limit": 5}'),
            "InputParameters must be a JSON object of strings",
        ),
        (with_parameters(SourceRuntime="nodejs20.x"), "SourceRuntime is 'nodejs20.x'"),
        (
            with_remediation(MaximumAutomaticAttempts="30"),
            "MaximumAutomaticAttempts is '30'; use a whole number from 1 to 25",
        ),
        (with_remediation(Automatic="yes"), "Remediation.Automatic is 'yes'; use true or false"),
        (with_remediation(TargetType="LAMBDA"), "TargetType is 'LAMBDA'"),
        (
            with_remediation(Parameters={"X": {"Value": "1"}}),
            "Parameters.X has neither ResourceValue nor StaticValue",
        ),
    ],
)
def test_undeployable_parameters_json_is_refused_naming_the_field_and_fix(document, message):
    with pytest.raises(RuleSpecError, match=re.escape(message)):
        rule_spec_from_mapping(document)


def test_remediation_without_the_deployed_parameters_is_refused():
    document = with_remediation(
        Parameters={"IAMResourceId": {"ResourceValue": {"Value": "RESOURCE_ID"}}}
    )
    with pytest.raises(RuleSpecError, match="lacks AutomationAssumeRole, HelperFunctionName"):
        remediation_configuration(
            rule_spec_from_mapping(document),
            rule_logical_id="ConfigRule",
            document_name="doc",
            automation_role_arn="role",
            helper_function_name="helper",
        )


def test_remediation_configuration_needs_a_remediation_block():
    with pytest.raises(RuleSpecError, match=r"no Parameters\.Remediation block"):
        remediation_configuration(
            rule_spec_from_mapping(with_parameters(Remediation=None)),
            rule_logical_id="ConfigRule",
            document_name="doc",
            automation_role_arn="role",
            helper_function_name="helper",
        )
