"""The rule as ``parameters.json`` declares it, read once for every deployment template.

``parameters.json`` is the RDK parameters file and the single source of truth
for the rule's name, description, triggers, input parameters and remediation.
``load_rule_spec`` turns it into a typed ``RuleSpec`` and rejects anything a
template could not be built from, naming the field and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Config's MaximumExecutionFrequency values (RDK's SourcePeriodic uses the same words).
FREQUENCIES = (
    "One_Hour",
    "Three_Hours",
    "Six_Hours",
    "Twelve_Hours",
    "TwentyFour_Hours",
)


class RuleSpecError(ValueError):
    """parameters.json cannot be deployed as it is; the message names the field and the fix."""


@dataclass(frozen=True)
class RemediationSpec:
    """The RDK ``Remediation`` block: how Config runs the SSM document on a noncompliant user."""

    target_id: str
    target_version: str | None
    resource_type: str
    automatic: bool
    maximum_automatic_attempts: int
    retry_attempt_seconds: int
    execution_controls: dict[str, Any] | None
    resource_parameters: dict[str, str]  # document parameter -> ResourceValue (RESOURCE_ID)
    static_parameters: dict[str, list[str]]  # document parameter -> StaticValue values


@dataclass(frozen=True)
class RuleSpec:
    """Everything the templates take from parameters.json."""

    name: str
    description: str
    code_key: str
    runtime: str  # the Lambda runtime, e.g. python3.12 for RDK's python3.12-lib
    resource_types: tuple[str, ...]
    maximum_execution_frequency: str | None
    input_parameters: dict[str, str]  # name -> default, required and optional together
    remediation: RemediationSpec | None


def _json_object(parameters: Mapping[str, Any], key: str) -> dict[str, str]:
    """One of RDK's JSON-in-a-string fields (InputParameters, OptionalParameters)."""
    raw = parameters.get(key, "{}") or "{}"
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as error:
        raise RuleSpecError(
            f"parameters.json: Parameters.{key} is not valid JSON ({error.msg}): {raw!r}. "
            'Write it as a JSON object in a string, e.g. "{\\"Name\\": \\"value\\"}".'
        ) from error
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise RuleSpecError(
            f"parameters.json: Parameters.{key} must be a JSON object of strings "
            f"(Config passes every rule parameter as a string), got {raw!r}."
        )
    return value


def _required(parameters: Mapping[str, Any], key: str, where: str = "Parameters") -> Any:
    value = parameters.get(key)
    if value in (None, ""):
        raise RuleSpecError(f"parameters.json: {where}.{key} is missing; add it.")
    return value


def _integer(block: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = block.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        raise RuleSpecError(
            f"parameters.json: Remediation.{key} is {raw!r}; use a whole number "
            f"from {low} to {high}."
        )
    return value


def _boolean(block: Mapping[str, Any], key: str) -> bool:
    raw = block.get(key, False)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise RuleSpecError(f"parameters.json: Remediation.{key} is {raw!r}; use true or false.")


def _runtime(source_runtime: str) -> str:
    """RDK's SourceRuntime names a Lambda runtime, with ``-lib`` when rdklib is bundled."""
    runtime = source_runtime.removesuffix("-lib")
    if not runtime.startswith("python3."):
        raise RuleSpecError(
            f"parameters.json: Parameters.SourceRuntime is {source_runtime!r}; the rule is "
            "Python: use a Python runtime that rdklib supports, e.g. python3.12-lib."
        )
    return runtime


def _remediation(block: Mapping[str, Any]) -> RemediationSpec:
    where = "Parameters.Remediation"
    if block.get("TargetType", "SSM_DOCUMENT") != "SSM_DOCUMENT":
        raise RuleSpecError(
            f"parameters.json: {where}.TargetType is {block['TargetType']!r}; "
            "the deployment runs an SSM Automation document: use SSM_DOCUMENT."
        )
    resource_parameters: dict[str, str] = {}
    static_parameters: dict[str, list[str]] = {}
    for name, value in (block.get("Parameters") or {}).items():
        if "ResourceValue" in value:
            resource_parameters[name] = value["ResourceValue"]["Value"]
        elif "StaticValue" in value:
            static_parameters[name] = [str(v) for v in value["StaticValue"]["Values"]]
        else:
            raise RuleSpecError(
                f"parameters.json: {where}.Parameters.{name} has neither ResourceValue "
                'nor StaticValue; write {"StaticValue": {"Values": ["..."]}} or '
                '{"ResourceValue": {"Value": "RESOURCE_ID"}}.'
            )
    version = block.get("TargetVersion")
    return RemediationSpec(
        target_id=str(_required(block, "TargetId", where)),
        target_version=str(version) if version not in (None, "") else None,
        resource_type=str(block.get("ResourceType", "AWS::IAM::User")),
        automatic=_boolean(block, "Automatic"),
        maximum_automatic_attempts=_integer(block, "MaximumAutomaticAttempts", 5, 1, 25),
        retry_attempt_seconds=_integer(block, "RetryAttemptSeconds", 60, 1, 2678000),
        execution_controls=block.get("ExecutionControls") or None,
        resource_parameters=resource_parameters,
        static_parameters=static_parameters,
    )


def rule_spec_from_mapping(document: Mapping[str, Any]) -> RuleSpec:
    """The ``RuleSpec`` of an already parsed parameters.json document."""
    parameters = document.get("Parameters")
    if not isinstance(parameters, Mapping):
        raise RuleSpecError("parameters.json: the top-level Parameters object is missing.")
    frequency = parameters.get("SourcePeriodic") or None
    if frequency is not None and frequency not in FREQUENCIES:
        raise RuleSpecError(
            f"parameters.json: Parameters.SourcePeriodic is {frequency!r}; "
            f"use one of {', '.join(FREQUENCIES)}."
        )
    events = str(parameters.get("SourceEvents") or "")
    resource_types = tuple(t.strip() for t in events.split(",") if t.strip())
    if not resource_types and frequency is None:
        raise RuleSpecError(
            "parameters.json: Parameters has neither SourceEvents nor SourcePeriodic; "
            "a rule needs at least one trigger."
        )
    required = _json_object(parameters, "InputParameters")
    optional = _json_object(parameters, "OptionalParameters")
    remediation = parameters.get("Remediation")
    return RuleSpec(
        name=str(_required(parameters, "RuleName")),
        description=str(_required(parameters, "Description")),
        code_key=str(_required(parameters, "CodeKey")),
        runtime=_runtime(str(_required(parameters, "SourceRuntime"))),
        resource_types=resource_types,
        maximum_execution_frequency=frequency,
        input_parameters={**optional, **required},
        remediation=_remediation(remediation) if remediation else None,
    )


def load_rule_spec(path: Path) -> RuleSpec:
    """Read and check parameters.json."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RuleSpecError(f"{path} is not valid JSON: {error}. Fix the syntax.") from error
    return rule_spec_from_mapping(document)
