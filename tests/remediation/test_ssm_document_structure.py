"""The SSM document's declarations: parameters, references, description, and parameters.json."""

from __future__ import annotations

import re

import pytest
from remediation_helpers import CHANGE_PASSWORD, LIST_BUCKETS, S3_FULL, remediate
from ssm_document import DOCUMENT_PATH, ROLE, load_document, rule_remediation

from no_direct_policies.compliance import parse_policy_arns
from no_direct_policies.move.plan import DEFAULT_GROUP_NAME_PREFIX, DEFAULT_GROUP_PATH
from no_direct_policies.move.request import PAYLOAD_KEYS
from no_direct_policies.simulation.document_runner import resolve_parameters, validate_document

DOCUMENT = load_document()
PARAMETERS = DOCUMENT["parameters"]
OPTIONS = ("DryRun", "GroupPath", "GroupNamePrefix", "ExemptPolicyArns", "MoveInlinePolicies")


def test_document_passes_the_strict_runner_validation():
    assert validate_document(DOCUMENT) is None
    assert DOCUMENT["schemaVersion"] == "0.3"
    assert DOCUMENT["assumeRole"] == "{{ AutomationAssumeRole }}"


def test_every_reference_resolves_to_a_parameter_or_an_earlier_steps_output():
    known = set(PARAMETERS)
    for step in DOCUMENT["mainSteps"]:
        text = str(step.get("inputs", {}))
        for reference in re.findall(r"\{\{\s*([\w.]+)\s*\}\}", text):
            assert reference in known, f"{step['name']} refers to {reference}"
        known |= {f"{step['name']}.{o['Name']}" for o in step.get("outputs", [])}
        if step["action"] == "aws:invokeLambdaFunction":
            known.add(f"{step['name']}.Payload")
    assert set(DOCUMENT["outputs"]) <= known


def test_required_parameters_have_patterns_and_options_have_defaults_matching_the_helper():
    for name in ("AutomationAssumeRole", "IAMResourceId"):
        assert "allowedPattern" in PARAMETERS[name]
        assert "default" not in PARAMETERS[name]
    assert {name: PARAMETERS[name]["default"] for name in OPTIONS} == {
        "DryRun": False,
        "GroupPath": DEFAULT_GROUP_PATH,
        "GroupNamePrefix": DEFAULT_GROUP_NAME_PREFIX,
        "ExemptPolicyArns": "",
        "MoveInlinePolicies": False,
    }
    assert all(
        "allowedPattern" in PARAMETERS[n] for n in OPTIONS if PARAMETERS[n]["type"] == "String"
    )


def test_helper_payload_carries_every_option_under_the_helpers_own_key():
    (invoke,) = [s for s in DOCUMENT["mainSteps"] if s["action"] == "aws:invokeLambdaFunction"]
    payload = invoke["inputs"]["InputPayload"]

    assert set(payload) == set(PAYLOAD_KEYS) - {"UserName"}
    assert all(payload[key] == f"{{{{ {key} }}}}" for key in payload)


@pytest.mark.parametrize(
    ("parameter", "value", "accepted"),
    [
        ("IAMResourceId", "AIDAJQABLZS4A3QDU576Q", True),
        ("IAMResourceId", "john", False),
        ("IAMResourceId", "AROAJQABLZS4A3QDU576Q", False),
        ("AutomationAssumeRole", ROLE, True),
        ("AutomationAssumeRole", "arn:aws:iam::123456789012:user/john", False),
        ("GroupPath", "/team/a/", True),
        ("GroupPath", "team", False),
        ("GroupNamePrefix", "Team.", True),
        ("GroupNamePrefix", "a b", False),
        ("HelperFunctionName", "arn:aws:lambda:eu-west-1:123456789012:function:Helper", True),
        ("HelperFunctionName", "no spaces", False),
    ],
)
def test_parameter_patterns(parameter, value, accepted):
    assert bool(re.search(PARAMETERS[parameter]["allowedPattern"], value)) is accepted


@pytest.mark.parametrize(
    "value",
    [
        "",
        CHANGE_PASSWORD,
        f"{CHANGE_PASSWORD}, {S3_FULL}",
        "arn:aws:iam::123456789012:policy/team/Custom",
        "S3FullAccess",
        "arn:aws:iam::aws:role/Admin",
        f"{CHANGE_PASSWORD};{S3_FULL}",
    ],
)
def test_exempt_policy_arns_pattern_accepts_exactly_what_the_helper_accepts(value):
    try:
        parse_policy_arns(value)
        helper_accepts = True
    except ValueError:
        helper_accepts = False

    pattern = PARAMETERS["ExemptPolicyArns"]["allowedPattern"]
    assert bool(re.search(pattern, value)) is helper_accepts


def test_description_documents_every_parameter_and_output_and_the_permissions():
    description = DOCUMENT["description"]

    for name in PARAMETERS:
        assert f"* {name}:" in description
    for output in DOCUMENT["outputs"]:
        assert f"{output}" in description or output.split(".")[1] in description
    assert "## Required permissions" in description


def test_description_lists_every_iam_action_the_helper_calls(iam, make_user, call_log):
    make_user("john", [S3_FULL], inline={"p": LIST_BUCKETS})
    user = make_user("mark", [S3_FULL])
    call_log.calls.clear()
    remediate(iam, UserName="john", MoveInlinePolicies=True)
    remediate(iam, IAMResourceId=user["UserId"])
    permissions = DOCUMENT["description"].split("* Helper function's role:")[1]

    assert {f"`iam:{name}`" for name in call_log.names} <= {
        word.strip(",;.()") for word in permissions.split() if word.startswith("`iam:")
    }


def test_parameters_json_remediation_block_agrees_with_the_document():
    remediation = rule_remediation()
    parameters = remediation["Parameters"]

    assert remediation["TargetType"] == "SSM_DOCUMENT"
    assert remediation["TargetId"] == DOCUMENT_PATH.stem
    assert remediation["ResourceType"] == "AWS::IAM::User"
    assert remediation["ConfigRuleName"] == "IAM_USER_NO_DIRECT_POLICIES"
    assert parameters["IAMResourceId"] == {"ResourceValue": {"Value": "RESOURCE_ID"}}
    assert set(parameters) <= set(PARAMETERS)
    assert {n for n, spec in PARAMETERS.items() if "default" not in spec} <= set(parameters)
    assert isinstance(remediation["Automatic"], bool)
    assert 1 <= remediation["MaximumAutomaticAttempts"] <= 25
    assert remediation["RetryAttemptSeconds"] >= 1
    static = {
        name: value["StaticValue"]["Values"][0]
        for name, value in parameters.items()
        if "StaticValue" in value
    }
    resolved = resolve_parameters(DOCUMENT, {**static, "IAMResourceId": "AIDAJQABLZS4A3QDU576Q"})
    assert resolved["AutomationAssumeRole"] == ROLE
