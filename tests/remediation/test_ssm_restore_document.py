"""The undo's SSM document run against moto, the helper in-process, as an operator starts it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from remediation_helpers import (
    CHANGE_PASSWORD,
    LIST_BUCKETS,
    READ_ONLY,
    S3_FULL,
    effective_policies,
    iam_snapshot,
    remediate,
)
from ssm_document import ROLE, ROOT, load_document, without_permission

from no_direct_policies.move import operation, verify_script
from no_direct_policies.move.undo import parse_undo_payload, restore_user_policies
from no_direct_policies.simulation.document_run import remediate_resource, restore_resource
from no_direct_policies.simulation.document_runner import (
    StepFailed,
    run_document,
    validate_document,
)

RESTORE_PATH = ROOT / "remediation" / "RestoreIAMUserPoliciesFromGroups.yaml"
SCRIPT_PATH = ROOT / "no_direct_policies" / "move" / "verify_script.py"
ALL_STEPS = ["RestoreUserPolicies", "ReadHelperResult", "VerifyPoliciesRestored"]


def _restore_document() -> dict[str, Any]:
    return yaml.safe_load(RESTORE_PATH.read_text(encoding="utf-8"))


def _direct(iam: Any, user: str) -> set[str]:
    return {
        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    }


def test_the_document_undoes_a_move_and_verifies_it(iam, make_user):
    john = make_user("john", [S3_FULL, CHANGE_PASSWORD])["UserId"]
    make_user("david", [S3_FULL])
    remediate_resource(iam, john, {"ExemptPolicyArns": CHANGE_PASSWORD})
    david = remediate_resource(iam, make_user("erin", [S3_FULL])["UserId"]).result
    before = effective_policies(iam, "john")

    run = restore_resource(iam, john)

    assert run.steps == ALL_STEPS
    assert run.result["Status"] == "RESTORED"
    assert run.result["RestoredPolicyArns"] == [S3_FULL]
    assert _direct(iam, "john") == {S3_FULL, CHANGE_PASSWORD}
    assert effective_policies(iam, "john") == before
    (group,) = david["Groups"]
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == ["erin"]


def test_a_dry_run_plans_and_skips_the_verification(iam, make_user):
    john = make_user("john", [S3_FULL])["UserId"]
    remediate_resource(iam, john)
    before = iam_snapshot(iam)

    run = restore_resource(iam, john, {"DryRun": True})

    assert run.result["Status"] == "PLANNED"
    assert iam_snapshot(iam) == before


def test_a_user_never_remediated_is_not_touched(iam, make_user):
    john = make_user("john", [S3_FULL])["UserId"]
    before = iam_snapshot(iam)

    run = restore_resource(iam, john)

    assert run.steps == ALL_STEPS
    assert run.result["Status"] == "NOTHING_TO_RESTORE"
    assert iam_snapshot(iam) == before


def test_a_refusal_fails_the_helper_step(iam, make_user):
    john = make_user("john")["UserId"]
    iam.delete_user(UserName="john")

    with pytest.raises(StepFailed, match="No IAM user has the ID") as failure:
        restore_resource(iam, john)
    assert failure.value.step == "RestoreUserPolicies"
    assert "Refused:" in str(failure.value)


def test_verification_fails_when_a_policy_is_not_attached(iam, make_user):
    make_user("john", [S3_FULL])
    user_id = iam.get_user(UserName="john")["User"]["UserId"]
    events = {
        "DryRun": False,
        "UserName": "john",
        "UserId": user_id,
        "RestoredPolicyArns": [S3_FULL, READ_ONLY],
        "GroupPath": "/config-remediation/",
    }
    with pytest.raises(RuntimeError, match=f"Not attached directly to user john: {READ_ONLY}"):
        verify_script.verify_policies_restored(events, None)


def _verify_step(document: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in document["mainSteps"] if s["name"] == "VerifyPoliciesRestored"]
    return step


def test_the_verify_step_is_the_module_byte_for_byte():
    step = _verify_step(_restore_document())
    assert step["inputs"]["Script"] == SCRIPT_PATH.read_text(encoding="utf-8")
    assert step["inputs"]["Handler"] == verify_script.verify_policies_restored.__name__


def _invoke_helper(function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    return operation.lambda_handler(payload, None)


def test_verify_calls_are_the_required_permissions_the_undo_uses(iam, make_user):
    """Dropping one of the undo's calls from the grant fails its verify step AccessDenied."""
    undo_calls = ["iam:GetUser", "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser"]
    assert set(undo_calls) <= set(verify_script.REQUIRED_PERMISSIONS)
    john = make_user("john", [S3_FULL])["UserId"]
    remediate_resource(iam, john)
    parameters = {"AutomationAssumeRole": ROLE, "IAMResourceId": john}
    for permission in undo_calls:
        reduced = _restore_document()
        inputs = _verify_step(reduced)["inputs"]
        inputs["Script"] = without_permission(inputs["Script"], permission)
        with pytest.raises(StepFailed, match=f"AccessDenied.*not granted {permission}"):
            run_document(reduced, parameters, invoke_lambda=_invoke_helper)

    outputs = run_document(_restore_document(), parameters, invoke_lambda=_invoke_helper)
    assert outputs["VerifyPoliciesRestored.Verification"] == "POLICIES_RESTORED"


def test_parameters_are_the_moves_with_the_same_patterns_and_defaults():
    move, restore = load_document()["parameters"], _restore_document()["parameters"]
    assert set(restore) == {
        "AutomationAssumeRole",
        "IAMResourceId",
        "HelperFunctionName",
        "DryRun",
        "GroupPath",
    }
    for name, spec in restore.items():
        assert {k: v for k, v in spec.items() if k != "description"} == {
            k: v for k, v in move[name].items() if k != "description"
        }, name


def test_the_runner_accepts_the_document():
    validate_document(_restore_document())


def test_description_lists_every_iam_action_the_undo_calls(iam, make_user, call_log):
    make_user("john", [S3_FULL], inline={"p": LIST_BUCKETS})
    remediate(iam, UserName="john", MoveInlinePolicies=True)
    user = make_user("mark", [S3_FULL, READ_ONLY])
    remediate(iam, UserName="mark")
    call_log.calls.clear()
    restore_user_policies(iam, parse_undo_payload({"UserName": "john"}), sleep=lambda _: None)
    restore_user_policies(iam, parse_undo_payload({"IAMResourceId": user["UserId"]}))
    description = _restore_document()["description"]
    permissions = description.split("* Helper function's role")[1]

    assert {f"`iam:{name}`" for name in call_log.names} <= {
        word.strip(",;.()") for word in permissions.split() if word.startswith("`iam:")
    }
    for name in _restore_document()["parameters"]:
        assert f"* {name}:" in description
    for output in _restore_document()["outputs"]:
        assert output.split(".")[1] in description
