"""The demo's remediation runs as Config starts it: parameters.json's block, then the document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import CHANGE_PASSWORD, S3_FULL

from no_direct_policies.simulation import document_run
from no_direct_policies.simulation.document_runner import StepFailed

PARAMETERS = json.loads((Path(__file__).resolve().parents[2] / "parameters.json").read_text())
REMEDIATION = PARAMETERS["Parameters"]["Remediation"]["Parameters"]


def test_parameters_resolve_as_config_resolves_them():
    resolved = document_run.remediation_parameters("AIDAEXAMPLEUSER000001")

    assert resolved["IAMResourceId"] == "AIDAEXAMPLEUSER000001"
    assert set(resolved) == set(REMEDIATION)
    for name, source in REMEDIATION.items():
        if "StaticValue" in source:
            assert resolved[name] == source["StaticValue"]["Values"][0]


def test_document_moves_the_policies_and_reports_its_steps(iam, make_user):
    user = make_user("mark", S3_FULL, CHANGE_PASSWORD)

    run = document_run.remediate_resource(
        iam, user["UserId"], {"ExemptPolicyArns": CHANGE_PASSWORD}
    )

    assert run.steps == [
        "MoveUserPolicies",
        "ReadHelperResult",
        "VerifyNoDirectPolicies",
    ]
    assert run.result["Status"] == "MOVED"
    assert run.result["UserName"] == "mark"
    assert run.result["MovedPolicyArns"] == [S3_FULL]
    attached = iam.list_attached_user_policies(UserName="mark")["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [CHANGE_PASSWORD]


def test_a_helper_refusal_fails_the_step(iam, make_user):
    user = make_user("crowded", S3_FULL)
    for index in range(10):
        iam.create_group(GroupName=f"team-{index}")
        iam.add_user_to_group(GroupName=f"team-{index}", UserName="crowded")

    with pytest.raises(StepFailed) as raised:
        document_run.remediate_resource(iam, user["UserId"])

    assert raised.value.step == "MoveUserPolicies"
    assert [
        p["PolicyArn"]
        for p in iam.list_attached_user_policies(UserName="crowded")["AttachedPolicies"]
    ] == [S3_FULL]


def test_an_undeployed_function_name_fails_the_step(iam, make_user):
    user = make_user("john", S3_FULL)

    with pytest.raises(StepFailed) as raised:
        document_run.remediate_resource(
            iam, user["UserId"], {"HelperFunctionName": "SomethingElse"}
        )

    assert "Function not found: SomethingElse" in str(raised.value)
