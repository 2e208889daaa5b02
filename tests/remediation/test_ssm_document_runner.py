"""The step runner is strict: each check it makes is shown to reject a broken document."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ssm_document import load_document

from no_direct_policies.simulation.document_runner import (
    DocumentError,
    StepFailed,
    resolve_parameters,
    run_document,
    validate_document,
)

REQUIRED = {
    "AutomationAssumeRole": "arn:aws:iam::123456789012:role/R",
    "IAMResourceId": "AIDAJQABLZS4A3QDU576Q",
}


def _broken(change) -> dict[str, Any]:
    document = copy.deepcopy(load_document())
    change(document)
    return document


def _step(document: dict, name: str) -> dict:
    return next(step for step in document["mainSteps"] if step["name"] == name)


def _set(path: list, value: Any):
    def change(document: dict) -> None:
        target = _step(document, path[0]) if path[0] != "$" else document
        for key in path[1:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


BRANCH_TO_NOWHERE = {
    "name": "Choose",
    "action": "aws:branch",
    "inputs": {
        "Choices": [{"NextStep": "Nowhere", "Variable": "{{ DryRun }}", "BooleanEquals": True}]
    },
}


def _add_step(step: dict):
    def change(document: dict) -> None:
        document["mainSteps"].insert(0, step)

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_set(["$", "schemaVersion"], "0.2"), "schemaVersion is '0.2', not '0.3'"),
        (_set(["$", "assumeRole"], "{{ Role }}"), "assumeRole refers to undeclared Role"),
        (
            _set(["MoveUserPolicies", "inputs", "InputPayload", "IAMResourceId"], "{{ UserId }}"),
            "{{ UserId }} is neither a parameter nor an earlier step's output",
        ),
        (
            _set(["ReadHelperResult", "inputs", "InputPayload", "Payload"], "{{ Later.Payload }}"),
            "{{ Later.Payload }} is neither",
        ),
        (
            _set(
                ["ReadHelperResult", "inputs", "InputPayload", "Payload"],
                "{{ VerifyNoDirectPolicies.Verification }}",
            ),
            "{{ VerifyNoDirectPolicies.Verification }} is neither",
        ),
        (_set(["MoveUserPolicies", "action"], "aws:runLambda"), "unknown action 'aws:runLambda'"),
        (
            _set(["MoveUserPolicies", "inputs", "Paylod"], "{}"),
            "aws:invokeLambdaFunction takes no input Paylod",
        ),
        (_set(["MoveUserPolicies", "onFailure"], "Continue"), "only onFailure Abort"),
        (_set(["ReadHelperResult", "inputs", "Runtime"], "python2.7"), "Runtime 'python2.7'"),
        (_add_step(BRANCH_TO_NOWHERE), "NextStep 'Nowhere' is not a step"),
        (
            _set(["VerifyNoDirectPolicies", "inputs", "Script"], "import boto3\n"),
            "a script that calls AWS must declare REQUIRED_PERMISSIONS",
        ),
        (
            _set(
                ["MoveUserPolicies", "outputs"],
                [{"Name": "S", "Selector": "$.S", "Type": "String"}],
            ),
            "Payload is a JSON string",
        ),
        (_set(["$", "parameters", "DryRun", "default"], "no"), "'no' is not a Boolean"),
        (
            _set(["$", "parameters", "GroupPath", "default"], "path"),
            "does not match allowedPattern",
        ),
        (_set(["$", "outputs"], ["MoveUserPolicies.Result"]), "output MoveUserPolicies.Result"),
    ],
    ids=[
        "schema-version",
        "assume-role",
        "undeclared-parameter",
        "unknown-step",
        "later-step-output",
        "unknown-action",
        "unknown-input",
        "on-failure",
        "runtime",
        "branch-target",
        "script-permissions",
        "lambda-output-selector",
        "default-type",
        "default-pattern",
        "document-output",
    ],
)
def test_broken_document_is_rejected_naming_the_problem(change, problem):
    with pytest.raises(DocumentError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        validate_document(_broken(change))


def test_parameters_are_type_checked_and_undeclared_ones_rejected():
    document = load_document()
    base = REQUIRED

    assert resolve_parameters(document, base)["GroupPath"] == "/config-remediation/"
    with pytest.raises(DocumentError, match="parameter DryRun: 'true' is not a Boolean"):
        resolve_parameters(document, {**base, "DryRun": "true"})
    with pytest.raises(DocumentError, match=r"undeclared parameters \['UserName'\]"):
        resolve_parameters(document, {**base, "UserName": "john"})


def test_a_failing_lambda_fails_its_step_and_stops_the_run():
    trace: list[str] = []

    def failing(_name: str, _payload: dict) -> dict:
        raise RuntimeError("refused")

    with pytest.raises(StepFailed, match="Step MoveUserPolicies failed: RuntimeError: refused"):
        run_document(
            load_document(),
            REQUIRED,
            invoke_lambda=failing,
            trace=trace,
        )
    assert trace == ["MoveUserPolicies"]


def test_lambda_receives_typed_values_from_lone_references():
    received: list[dict] = []

    def record(_name: str, payload: dict) -> dict:
        received.append(payload)
        return {
            "UserName": "j",
            "UserId": "u",
            "Status": "PLANNED",
            "Groups": [],
            "MovedPolicyArns": [],
        }

    run_document(
        load_document(),
        {**REQUIRED, "DryRun": True},
        invoke_lambda=record,
    )

    assert received == [
        {
            "IAMResourceId": "AIDAJQABLZS4A3QDU576Q",
            "DryRun": True,
            "GroupPath": "/config-remediation/",
            "GroupNamePrefix": "MovedPolicies-",
            "ExemptPolicyArns": "",
            "MoveInlinePolicies": False,
        }
    ]


@pytest.mark.parametrize(
    ("error_type", "message", "failure"),
    [
        (
            "RemediationRefused",
            "Refused: User john is in 10 groups.",
            "Refused: User john is in 10 groups. (IAM was not changed)",
        ),
        (
            "RemediationStopped",
            "Stopped part-way: the read-back failed.",
            "Stopped part-way: the read-back failed. "
            "(IAM was changed part-way, at a safe point, as stated)",
        ),
        (
            "ClientError",
            "Throttling",
            "Throttling (ClientError: policies are removed only after they were added; "
            "run it again)",
        ),
    ],
    ids=["refused", "stopped", "aws-error"],
)
def test_a_function_error_payload_fails_the_step_that_reads_it_saying_if_iam_changed(
    error_type, message, failure
):
    # Should Lambda report a failure as a payload instead of failing the invoke step,
    # the next step still stops the automation with the helper's message and its kind.
    def error_payload(_name: str, _payload: dict) -> dict:
        return {"errorMessage": message, "errorType": error_type}

    with pytest.raises(StepFailed) as failed:
        run_document(
            load_document(),
            REQUIRED,
            invoke_lambda=error_payload,
        )
    assert failed.value.step == "ReadHelperResult"
    assert str(failed.value) == f"Step ReadHelperResult failed: RuntimeError: {failure}"
