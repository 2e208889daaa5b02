"""Run the remediation the way Config does, for one NON_COMPLIANT user.

Config's remediation configuration (the ``Remediation`` block of
``parameters.json``) names the SSM document and its parameters; Config fills
``RESOURCE_ID`` with the user's ID and starts an Automation execution. Here
the document's steps run in-process (``document_runner``, since moto runs
no Automation) and its ``aws:invokeLambdaFunction`` step calls the helper
Lambda's real handler.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from no_direct_policies.simulation.document_runner import run_document
from no_direct_policies.simulation.lambda_entries import (
    DOCUMENT_PATH,
    RESTORE_DOCUMENT_PATH,
    RULE_PARAMETERS_PATH,
    helper_entry,
)

__all__ = [
    "DOCUMENT_PATH",
    "RESTORE_DOCUMENT_PATH",
    "RULE_PARAMETERS_PATH",
    "remediate_resource",
    "remediation_parameters",
    "restore_resource",
]


def remediation_parameters(resource_id: str) -> dict[str, Any]:
    """The document's parameters as Config resolves the remediation configuration.

    ``ResourceValue`` ``RESOURCE_ID`` becomes the user's ID; a ``StaticValue``
    passes its values (one value for a String parameter).
    """
    remediation = json.loads(RULE_PARAMETERS_PATH.read_text(encoding="utf-8"))["Parameters"][
        "Remediation"
    ]
    resolved: dict[str, Any] = {}
    for name, source in remediation["Parameters"].items():
        if "ResourceValue" in source:
            resolved[name] = resource_id
        else:
            values = source["StaticValue"]["Values"]
            resolved[name] = values[0] if len(values) == 1 else values
    return resolved


def _helper_invoker(deployed_name: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """What Lambda does for the document's invoke step: run the helper's real handler."""

    def invoke(function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
        if function_name != deployed_name:
            # Lambda would answer ResourceNotFoundException: no such function is deployed.
            raise ValueError(
                f"Function not found: {function_name}; the deployed helper is {deployed_name}"
            )
        return helper_entry().lambda_handler(payload, None)

    return invoke


@dataclass(frozen=True)
class RemediationRun:
    """One Automation execution: the steps it ran and the helper's result it output."""

    steps: list[str]
    result: dict[str, Any]


def remediate_resource(
    iam_client: Any, resource_id: str, overrides: Mapping[str, Any] | None = None
) -> RemediationRun:
    """Run the SSM document for one user ID, as Config's remediation would start it.

    ``overrides`` sets document parameters the remediation configuration leaves at
    their defaults (the demo passes its exempt policies). A failed step raises
    ``document_runner.StepFailed``.
    """
    document = yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))
    configured = remediation_parameters(resource_id)
    parameters = {**configured, **(overrides or {})}
    return _run(document, parameters, configured, iam_client, "MoveUserPolicies")


def restore_resource(
    iam_client: Any, resource_id: str, overrides: Mapping[str, Any] | None = None
) -> RemediationRun:
    """Run the undo's SSM document for one user ID, as an operator would start it.

    The parameters are those of the remediation configuration the undo's document
    declares (the same role, helper and group path); ``overrides`` sets others.
    """
    document = yaml.safe_load(RESTORE_DOCUMENT_PATH.read_text(encoding="utf-8"))
    configured = remediation_parameters(resource_id)
    shared = {name: value for name, value in configured.items() if name in document["parameters"]}
    parameters = {**shared, **(overrides or {})}
    return _run(document, parameters, configured, iam_client, "RestoreUserPolicies")


def _run(
    document: Mapping[str, Any],
    parameters: Mapping[str, Any],
    configured: Mapping[str, Any],
    iam_client: Any,
    helper_step: str,
) -> RemediationRun:
    """Run the document; its result is what the helper's step ``helper_step`` returned."""
    steps: list[str] = []
    outputs = run_document(
        document,
        parameters,
        # The function deployed is the one the remediation configuration names.
        invoke_lambda=_helper_invoker(configured["HelperFunctionName"]),
        clients={"iam": iam_client},
        trace=steps,
    )
    return RemediationRun(steps, json.loads(outputs[f"{helper_step}.Payload"]))
