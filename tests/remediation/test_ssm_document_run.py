"""The SSM document's steps run against moto, the helper in-process, as Config would start them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from remediation_helpers import CHANGE_PASSWORD, READ_ONLY, S3_FULL, iam_snapshot
from ssm_document import ROLE, invoke_helper, load_document, rule_remediation

from no_direct_policies.move import request as move_request
from no_direct_policies.move.plan import group_name
from no_direct_policies.simulation.document_runner import DocumentError, StepFailed, run_document

ALL_STEPS = ["MoveUserPolicies", "ReadHelperResult", "VerifyNoDirectPolicies"]


def _config_parameters(user_id: str) -> dict[str, Any]:
    """The document parameters Config passes from the Remediation block of parameters.json."""
    parameters: dict[str, Any] = {}
    for name, source in rule_remediation()["Parameters"].items():
        if "ResourceValue" in source:
            assert source["ResourceValue"]["Value"] == "RESOURCE_ID"
            parameters[name] = user_id
        else:
            (parameters[name],) = source["StaticValue"]["Values"]
    return parameters


def _run(iam: Any, user_id: str, trace: list[str] | None = None, **overrides: Any) -> dict:
    return run_document(
        load_document(),
        {**_config_parameters(user_id), **overrides},
        invoke_lambda=invoke_helper,
        clients={"iam": iam},
        trace=trace,
    )


def test_seed_user_is_remediated_by_the_document_and_verified(iam, make_user):
    user = make_user("John", [S3_FULL])
    trace: list[str] = []

    outputs = _run(iam, user["UserId"], trace)

    group = group_name("MovedPolicies-", [S3_FULL], [])
    assert trace == ALL_STEPS
    assert isinstance(outputs["MoveUserPolicies.Payload"], str)  # Lambda's Payload is JSON text
    assert json.loads(outputs["MoveUserPolicies.Payload"])["Actions"][-1] == {
        "Action": "DetachUserPolicy",
        "UserName": "John",
        "PolicyArn": S3_FULL,
    }
    assert {key: value for key, value in outputs.items() if key != "MoveUserPolicies.Payload"} == {
        "ReadHelperResult.UserName": "John",
        "ReadHelperResult.UserId": user["UserId"],
        "ReadHelperResult.Status": "MOVED",
        "ReadHelperResult.Groups": [group],
        "ReadHelperResult.MovedPolicyArns": [S3_FULL],
        "VerifyNoDirectPolicies.Verification": "NO_DIRECT_POLICIES",
    }
    assert iam.list_attached_user_policies(UserName="John")["AttachedPolicies"] == []


def test_dry_run_skips_verification_and_changes_nothing(iam, make_user):
    user = make_user("John", [S3_FULL, READ_ONLY])
    before = iam_snapshot(iam)
    trace: list[str] = []

    outputs = _run(iam, user["UserId"], trace, DryRun=True)

    assert trace == ALL_STEPS
    assert outputs["ReadHelperResult.Status"] == "PLANNED"
    assert outputs["VerifyNoDirectPolicies.Verification"] == "SKIPPED_DRY_RUN"
    assert iam_snapshot(iam) == before


def test_exempt_policy_left_on_the_user_passes_verification(iam, make_user):
    user = make_user("John", [S3_FULL, CHANGE_PASSWORD])
    trace: list[str] = []

    outputs = _run(iam, user["UserId"], trace, ExemptPolicyArns=CHANGE_PASSWORD)

    assert trace == ALL_STEPS
    assert outputs["ReadHelperResult.MovedPolicyArns"] == [S3_FULL]


def test_already_compliant_user_runs_through_as_nothing_to_move(iam, make_user):
    user = make_user("John")

    outputs = _run(iam, user["UserId"])

    assert outputs["ReadHelperResult.Status"] == "NOTHING_TO_MOVE"
    # Empty StringLists selected as a whole ($.Payload.Groups): AWS's simulator accepts them.
    assert outputs["ReadHelperResult.Groups"] == []
    assert outputs["ReadHelperResult.MovedPolicyArns"] == []
    assert outputs["VerifyNoDirectPolicies.Verification"] == "NO_DIRECT_POLICIES"


def test_helper_refusal_fails_the_first_step_with_its_reason(
    iam, make_user, make_group, quotas, monkeypatch
):
    quotas["GroupsPerUserQuota"] = 1  # on the ``iam`` client, which the helper gets here
    monkeypatch.setattr(move_request, "new_iam_client", lambda: iam)
    user = make_user("John", [S3_FULL], groups=[make_group("Team")])
    before = iam_snapshot(iam)

    with pytest.raises(
        StepFailed, match=r"RemediationRefused: Refused: .* over GroupsPerUserQuota"
    ) as failed:
        _run(iam, user["UserId"])

    assert failed.value.step == "MoveUserPolicies"
    assert iam_snapshot(iam) == before


def _helper_claiming_success(user_name: str, user_id: str):
    """A helper that reports MOVED without changing anything."""

    def invoke(_name: str, _payload: dict) -> dict:
        result = {"UserName": user_name, "UserId": user_id, "Status": "MOVED"}
        return {**result, "Groups": [], "MovedPolicyArns": [S3_FULL], "Actions": []}

    return invoke


def test_verification_fails_when_a_policy_is_still_attached(iam, make_user):
    user = make_user("John", [S3_FULL])

    with pytest.raises(
        StepFailed, match=f"still attached directly to user John: {S3_FULL}"
    ) as failed:
        run_document(
            load_document(),
            _config_parameters(user["UserId"]),
            invoke_lambda=_helper_claiming_success("John", user["UserId"]),
        )
    assert failed.value.step == "VerifyNoDirectPolicies"


def test_verification_fails_when_the_user_was_recreated_under_the_same_name(iam, make_user):
    user = make_user("John")
    gone = "AIDAJQABLZS4A3QDU576Q"

    with pytest.raises(
        StepFailed, match=f"User John now has ID {user['UserId']}, not {gone}: it was deleted"
    ) as failed:
        run_document(
            load_document(),
            _config_parameters(gone),
            invoke_lambda=_helper_claiming_success("John", gone),
        )
    assert failed.value.step == "VerifyNoDirectPolicies"


def test_invalid_resource_id_is_rejected_before_any_step(iam):
    trace: list[str] = []

    with pytest.raises(DocumentError, match="parameter IAMResourceId: 'john' does not match"):
        _run(iam, "john", trace)

    assert trace == []


def test_missing_assume_role_is_rejected(iam):
    parameters = _config_parameters("AIDAJQABLZS4A3QDU576Q")
    del parameters["AutomationAssumeRole"]

    with pytest.raises(DocumentError, match="parameter AutomationAssumeRole is required"):
        run_document(load_document(), parameters, invoke_lambda=invoke_helper, clients={})
    assert ROLE in json.dumps(rule_remediation())
