"""The document's verification step: a tested module, and why it replaced the old steps.

Checked by hand with AWS's document simulator, @cdklabs/cdk-ssm-documents 0.0.74
(``Simulation.ofAutomation`` on this YAML; the Lambda mocked through an
``awsInvoker``; scripts run by Python against moto_server):

- The old steps, ``ListRemainingPolicies`` (aws:executeAwsApi, StringList
  ``$.AttachedPolicies..PolicyArn``) then ``AssertNoDirectPolicies``, failed on
  the normal end state: "Output AttachedPolicyArns specified selector
  $.AttachedPolicies..PolicyArn but not found in response
  {"AttachedPolicies":[],"IsTruncated":false}". With one exempt policy left it
  failed too: "DataType of output AttachedPolicyArns:STRING_LIST does not match
  response type "arn:aws:iam::aws:policy/IAMUserChangePassword"".
  (The old ``VerifyUnlessDryRun`` branch carried ``isEnd: true``; the simulator
  ended there even when the choice matched, so verification never ran.)
- The new ``VerifyNoDirectPolicies`` succeeded for NOTHING_TO_MOVE and MOVED,
  skipped on a dry run, and failed with this module's messages for a policy
  still attached and for a user recreated under the same name.
- ``ReadHelperResult.Groups`` and ``.MovedPolicyArns`` as empty lists
  (``$.Payload.Groups`` selects the list itself) were accepted as StringList.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from remediation_helpers import CHANGE_PASSWORD, LIST_BUCKETS, S3_FULL
from ssm_document import ROOT, invoke_helper, load_document, without_permission

from no_direct_policies.move import verify_script as script
from no_direct_policies.simulation.document_runner import StepFailed, run_document

SCRIPT_PATH = ROOT / "no_direct_policies" / "move" / "verify_script.py"
PARAMETERS = {
    "AutomationAssumeRole": "arn:aws:iam::123456789012:role/R",
    "ExemptPolicyArns": CHANGE_PASSWORD,
}

# The steps the document verified with before, kept to show the runner rejects them.
OLD_VERIFY_STEPS = yaml.safe_load("""
- name: ListRemainingPolicies
  action: aws:executeAwsApi
  onFailure: Abort
  inputs:
    Service: iam
    Api: ListAttachedUserPolicies
    UserName: '{{ ReadHelperResult.UserName }}'
  outputs:
    - Name: AttachedPolicyArns
      Selector: $.AttachedPolicies..PolicyArn
      Type: StringList
- name: AssertNoDirectPolicies
  action: aws:executeScript
  onFailure: Abort
  isEnd: true
  inputs:
    Runtime: python3.11
    Handler: assert_no_direct_policies
    InputPayload:
      AttachedPolicyArns: '{{ ListRemainingPolicies.AttachedPolicyArns }}'
      ExemptPolicyArns: '{{ ExemptPolicyArns }}'
    Script: |-
      def assert_no_direct_policies(events, context):
          exempt = {a.strip() for a in events["ExemptPolicyArns"].split(",") if a.strip()}
          remaining = sorted(set(events["AttachedPolicyArns"] or []) - exempt)
          if remaining:
              raise RuntimeError("still attached: " + ", ".join(remaining))
          return {"RemainingPolicyArns": remaining}
""")


def _verify_step(document: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in document["mainSteps"] if s["name"] == "VerifyNoDirectPolicies")


def _events(user: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    events = {"UserName": user["UserName"], "UserId": user["UserId"], "DryRun": False}
    return {**events, "ExemptPolicyArns": "", **overrides}


def test_document_script_is_the_module_byte_for_byte():
    step = _verify_step(load_document())

    assert step["inputs"]["Script"] == SCRIPT_PATH.read_text(encoding="utf-8")
    assert step["inputs"]["Handler"] == script.verify_no_direct_policies.__name__


def test_user_without_policies_passes(iam, make_user):
    user = make_user("John")

    assert script.verify_no_direct_policies(_events(user), None) == {
        "Verification": "NO_DIRECT_POLICIES"
    }


def test_exempt_policies_may_stay_and_others_are_named(iam, make_user):
    user = make_user("John", [CHANGE_PASSWORD, S3_FULL])

    with pytest.raises(RuntimeError, match=f"still attached directly to user John: {S3_FULL}$"):
        script.verify_no_direct_policies(_events(user, ExemptPolicyArns=CHANGE_PASSWORD), None)
    iam.detach_user_policy(UserName="John", PolicyArn=S3_FULL)
    assert script.verify_no_direct_policies(
        _events(user, ExemptPolicyArns=f" {CHANGE_PASSWORD} ,"), None
    ) == {"Verification": "NO_DIRECT_POLICIES"}


def test_deleted_user_fails_naming_it(iam, make_user):
    user = make_user("John")
    iam.delete_user(UserName="John")

    with pytest.raises(RuntimeError, match=rf"User John \({user['UserId']}\) no longer exists"):
        script.verify_no_direct_policies(_events(user), None)


def test_dry_run_makes_no_aws_call(monkeypatch):
    monkeypatch.setattr(script.boto3, "client", None)  # calling it would raise TypeError

    events = {"DryRun": True, "UserName": "John", "UserId": "x", "ExemptPolicyArns": ""}
    assert script.verify_no_direct_policies(events, None) == {"Verification": "SKIPPED_DRY_RUN"}


def test_client_retries_throttling_in_standard_mode(iam, make_user, monkeypatch):
    made: list[Any] = []
    real_client = script.boto3.client
    monkeypatch.setattr(
        script.boto3, "client", lambda *a, **k: made.append(real_client(*a, **k)) or made[-1]
    )

    script.verify_no_direct_policies(_events(make_user("John")), None)

    assert made[0].meta.config.retries == {"mode": "standard", "total_max_attempts": 10}


# The calls of the move's check; the undo's are tested with its document.
MOVE_CALLS = ["iam:GetUser", "iam:ListAttachedUserPolicies", "iam:ListUserPolicies"]


def test_calls_are_the_required_permissions_the_move_uses(iam, make_user):
    """In the runner a call outside REQUIRED_PERMISSIONS is AccessDenied, so this run proves
    the grant suffices; dropping one permission proves each of the move's calls is used."""
    assert set(MOVE_CALLS) <= set(script.REQUIRED_PERMISSIONS)
    user = make_user("John", [S3_FULL], inline={"list-buckets": LIST_BUCKETS})
    parameters = {**PARAMETERS, "IAMResourceId": user["UserId"], "MoveInlinePolicies": True}
    document = load_document()
    for permission in MOVE_CALLS:
        reduced = copy.deepcopy(document)
        inputs = _verify_step(reduced)["inputs"]
        inputs["Script"] = without_permission(inputs["Script"], permission)
        with pytest.raises(StepFailed, match=f"AccessDenied.*not granted {permission}"):
            run_document(reduced, parameters, invoke_lambda=invoke_helper)

    outputs = run_document(document, parameters, invoke_lambda=invoke_helper)
    assert outputs["VerifyNoDirectPolicies.Verification"] == "NO_DIRECT_POLICIES"


def test_old_steps_fail_on_the_normal_end_state_as_the_simulator_does(iam, make_user):
    user = make_user("John", [S3_FULL])
    document = load_document()
    document["mainSteps"] = [*document["mainSteps"][:-1], *copy.deepcopy(OLD_VERIFY_STEPS)]
    document["outputs"] = [o for o in document["outputs"] if "Verify" not in o]

    with pytest.raises(
        StepFailed,
        match=r"output AttachedPolicyArns \(\$\.AttachedPolicies\.\.PolicyArn\) selects nothing",
    ) as failed:
        run_document(
            document,
            {**PARAMETERS, "IAMResourceId": user["UserId"]},
            invoke_lambda=invoke_helper,
            clients={"iam": iam},
        )
    assert failed.value.step == "ListRemainingPolicies"
    assert iam.list_attached_user_policies(UserName="John")["AttachedPolicies"] == []


def test_inline_policy_left_on_the_user_fails_when_inline_policies_are_moved(iam, make_user):
    user = make_user("quinn", [], inline={"list-buckets": LIST_BUCKETS})

    with pytest.raises(RuntimeError, match="Inline policies are still on user quinn: list-buckets"):
        script.verify_no_direct_policies(_events(user, MoveInlinePolicies=True), None)
    # Not moving them, inline policies are not the step's business.
    assert script.verify_no_direct_policies(_events(user, MoveInlinePolicies=False), None) == {
        "Verification": "NO_DIRECT_POLICIES"
    }
