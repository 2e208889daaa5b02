"""A strict, in-process runner of SSM Automation documents (schemaVersion 0.3).

moto runs neither Automation executions nor Lambda code, so the remediation's
document is exercised here: ``validate_document`` rejects anything this runner
(or a reader) cannot vouch for - unknown actions, inputs an action does not
take, ``{{ }}`` references to undeclared parameters or to outputs of steps that
have not run yet, unknown step targets - and ``run_document`` executes the
steps in order with parameters checked against their declared type,
``allowedPattern``, ``allowedValues`` and ``maxChars``.

Supported actions (with AWS's semantics, as documented):
- ``aws:invokeLambdaFunction``: calls ``invoke_lambda(FunctionName, payload)``;
  outputs ``Payload`` (a JSON *string*, as in AWS) and ``StatusCode``. A raised
  exception is a function error and fails the step.
- ``aws:executeScript``: runs the inline Python script's handler with
  ``InputPayload``; declared outputs select from ``$.Payload``. The boto3
  clients a script creates use the process's AWS environment (moto in the tests
  and the demo). A script that imports boto3 must declare the actions it calls
  in ``REQUIRED_PERMISSIONS`` (the automation role is granted those); any other
  AWS call fails with AccessDenied, as it would under that role.
- ``aws:executeAwsApi``: calls the API on ``clients[Service]``; declared
  outputs are JSONPath selectors over the response.

An output whose selector matches nothing fails its step, also for a
``StringList`` over an empty list (``$.Items..Name`` on ``{"Items": []}``):
AWS does not document that case and AWS's simulator (@cdklabs/cdk-ssm-documents)
fails the step. A selector that matches an empty list itself (``$.Items``) gives [].
- ``aws:branch``: ``Choices`` with ``StringEquals``, ``BooleanEquals`` or
  ``NumericEquals``; then ``Default``; then the end if ``isEnd``, else the next step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from botocore import xform_name
from botocore.exceptions import ClientError
from jsonpath_ng.ext import parse as parse_jsonpath

_REFERENCE = re.compile(r"\{\{\s*([\w.:-]+)\s*\}\}")
_TOP_LEVEL = {"description", "schemaVersion", "assumeRole", "parameters", "mainSteps", "outputs"}
_STEP_KEYS = {"name", "action", "inputs", "outputs", "description", "onFailure", "nextStep"}
_STEP_KEYS |= {"isEnd", "isCritical", "maxAttempts", "timeoutSeconds"}
_PARAMETER_KEYS = {"type", "description", "default", "allowedPattern", "allowedValues", "maxChars"}
_PARAMETER_TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Boolean": bool,
    "Integer": int,
    "StringList": list,
    "StringMap": dict,
    "MapList": list,
}
# Per action: (required inputs, optional inputs; None = any API parameter), built-in outputs.
ACTIONS: dict[str, tuple[set[str], set[str] | None, set[str]]] = {
    "aws:invokeLambdaFunction": (
        {"FunctionName"},
        {"InvocationType", "InputPayload", "Payload", "Qualifier", "LogType", "ClientContext"},
        {"Payload", "StatusCode", "FunctionError", "LogResult"},
    ),
    "aws:executeScript": ({"Runtime", "Handler", "Script"}, {"InputPayload"}, {"OutputPayload"}),
    "aws:executeAwsApi": ({"Service", "Api"}, None, set()),
    "aws:branch": ({"Choices"}, {"Default"}, set()),
}
SCRIPT_RUNTIMES = {"python3.8", "python3.9", "python3.10", "python3.11"}
_OPERATORS = {"StringEquals", "BooleanEquals", "NumericEquals"}
_OUTPUT_TYPES = {"String": str, "Integer": int, "Boolean": bool, "StringList": list}
_OUTPUT_TYPES |= {"StringMap": dict, "MapList": list}


class DocumentError(ValueError):
    """The document uses something the runner cannot vouch for; the message lists each problem."""


class StepFailed(RuntimeError):
    """A step failed; ``step`` names it and the message carries the cause."""

    def __init__(self, step: str, cause: str) -> None:
        super().__init__(f"Step {step} failed: {cause}")
        self.step = step
        self.cause = cause


def _references(value: Any) -> list[str]:
    if isinstance(value, str):
        return _REFERENCE.findall(value)
    if isinstance(value, Mapping):
        return [ref for item in value.values() for ref in _references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []


def _step_outputs(step: Mapping[str, Any]) -> set[str]:
    declared = {output["Name"] for output in step.get("outputs", [])}
    return declared | ACTIONS.get(step.get("action", ""), (set(), set(), set()))[2]


def _check_parameters(document: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, spec in document.get("parameters", {}).items():
        if unknown := set(spec) - _PARAMETER_KEYS:
            problems.append(f"parameter {name}: unknown keys {sorted(unknown)}")
        if spec.get("type") not in _PARAMETER_TYPES:
            problems.append(f"parameter {name}: unknown type {spec.get('type')!r}")
        elif "default" in spec:
            try:
                _check_value(name, spec, spec["default"])
            except DocumentError as error:
                problems.append(f"default of {error}")
    return problems


def _check_flow(step: Mapping[str, Any], names: set[str], where: str) -> list[str]:
    """Branch choices and step targets must name existing steps."""
    problems = []
    action, inputs = step.get("action"), step.get("inputs", {})
    for choice in inputs.get("Choices", []) if action == "aws:branch" else []:
        operators = set(choice) & _OPERATORS
        if set(choice) - _OPERATORS - {"NextStep", "Variable"} or len(operators) != 1:
            problems.append(f"{where}: choice {choice} needs NextStep, Variable, one operator")
        if choice.get("NextStep") not in names:
            problems.append(f"{where}: NextStep {choice.get('NextStep')!r} is not a step")
    for target in (step.get("nextStep"), inputs.get("Default") if action == "aws:branch" else None):
        if target is not None and target not in names:
            problems.append(f"{where}: {target!r} is not a step")
    return problems


def _check_step(step: Mapping[str, Any], known: set[str], names: set[str]) -> list[str]:
    name, action = step.get("name", "?"), step.get("action")
    where = f"step {name}"
    if action not in ACTIONS:
        return [f"{where}: unknown action {action!r}"]
    problems = [f"{where}: unknown key {key}" for key in sorted(set(step) - _STEP_KEYS)]
    required, optional, _ = ACTIONS[action]
    inputs = step.get("inputs", {})
    problems += [f"{where}: missing input {key}" for key in sorted(required - set(inputs))]
    if optional is not None:
        problems += [
            f"{where}: {action} takes no input {key}"
            for key in sorted(set(inputs) - required - optional)
        ]
    if step.get("onFailure", "Abort") != "Abort":
        problems.append(f"{where}: only onFailure Abort is supported")
    if action == "aws:executeScript" and inputs.get("Runtime") not in SCRIPT_RUNTIMES:
        problems.append(f"{where}: Runtime {inputs.get('Runtime')!r} not in {SCRIPT_RUNTIMES}")
    script = str(inputs.get("Script", "")) if action == "aws:executeScript" else ""
    if "boto3" in script and "REQUIRED_PERMISSIONS" not in script:
        problems.append(f"{where}: a script that calls AWS must declare REQUIRED_PERMISSIONS")
    if action == "aws:invokeLambdaFunction" and {"InputPayload", "Payload"} <= set(inputs):
        problems.append(f"{where}: give InputPayload or Payload, not both")
    problems += _check_flow(step, names, where)
    if action == "aws:invokeLambdaFunction" and step.get("outputs"):
        problems.append(f"{where}: Payload is a JSON string; select from it in a later step")
    for output in step.get("outputs", []):
        if output.get("Type") not in _OUTPUT_TYPES or not str(output.get("Selector")).startswith(
            "$."
        ):
            problems.append(f"{where}: output {output.get('Name')} needs a Type and a $. Selector")
    problems += [
        f"{where}: {{{{ {ref} }}}} is neither a parameter nor an earlier step's output"
        for ref in _references(inputs)
        if ref not in known
    ]
    return problems


def validate_document(document: Mapping[str, Any]) -> None:
    """Raise DocumentError listing every problem; return None for a document the runner accepts."""
    problems = [f"unknown top-level key {key}" for key in sorted(set(document) - _TOP_LEVEL)]
    if document.get("schemaVersion") != "0.3":
        problems.append(f"schemaVersion is {document.get('schemaVersion')!r}, not '0.3'")
    parameters = set(document.get("parameters", {}))
    problems += _check_parameters(document)
    problems += [
        f"assumeRole refers to undeclared {ref}"
        for ref in _references(document.get("assumeRole", ""))
        if ref not in parameters
    ]
    steps = document.get("mainSteps", [])
    names = [step.get("name") for step in steps]
    if len(set(names)) != len(names):
        problems.append(f"step names are not unique: {names}")
    known = set(parameters)
    for step in steps:
        problems += _check_step(step, known, set(names))
        known |= {f"{step.get('name')}.{output}" for output in _step_outputs(step)}
    problems += [
        f"document output {ref} is not a step output"
        for ref in document.get("outputs", [])
        if ref not in known - parameters
    ]
    if problems:
        raise DocumentError("; ".join(problems))


def _check_value(name: str, spec: Mapping[str, Any], value: Any) -> None:
    expected = _PARAMETER_TYPES[spec["type"]]
    if not isinstance(value, expected) or (spec["type"] == "Integer" and isinstance(value, bool)):
        raise DocumentError(f"parameter {name}: {value!r} is not a {spec['type']}")
    if "allowedPattern" in spec and not re.search(spec["allowedPattern"], str(value)):
        raise DocumentError(
            f"parameter {name}: {value!r} does not match allowedPattern {spec['allowedPattern']}"
        )
    if "allowedValues" in spec and value not in spec["allowedValues"]:
        raise DocumentError(f"parameter {name}: {value!r} is not one of {spec['allowedValues']}")
    if "maxChars" in spec and len(str(value)) > spec["maxChars"]:
        raise DocumentError(
            f"parameter {name}: {len(str(value))} characters, more than maxChars {spec['maxChars']}"
        )


def resolve_parameters(document: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Apply defaults and check every value as Automation does before the first step."""
    declared = document.get("parameters", {})
    if unknown := sorted(set(given) - set(declared)):
        raise DocumentError(f"undeclared parameters {unknown}")
    values = {}
    for name, spec in declared.items():
        if name not in given and "default" not in spec:
            raise DocumentError(f"parameter {name} is required")
        value = given.get(name, spec.get("default"))
        _check_value(name, spec, value)
        values[name] = value
    return values


def _render(value: Any, scope: Mapping[str, Any]) -> Any:
    """Substitute ``{{ }}`` references; a lone reference keeps its value's type."""
    if isinstance(value, Mapping):
        return {key: _render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, scope) for item in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value.strip())
    if whole:
        return scope[whole.group(1)]

    def text(match: re.Match[str]) -> str:
        item = scope[match.group(1)]
        return json.dumps(item) if not isinstance(item, str) else item

    return _REFERENCE.sub(text, value)


def _select(step: Mapping[str, Any], document: Any) -> dict[str, Any]:
    outputs = {}
    for output in step.get("outputs", []):
        matches = [match.value for match in parse_jsonpath(output["Selector"]).find(document)]
        if not matches:
            raise StepFailed(
                step["name"],
                f"output {output['Name']} ({output['Selector']}) selects nothing",
            )
        is_list = output["Type"] in ("StringList", "MapList")
        value = matches if is_list and ".." in output["Selector"] else matches[0]
        if not isinstance(value, _OUTPUT_TYPES[output["Type"]]):
            raise StepFailed(step["name"], f"output {output['Name']} is not a {output['Type']}")
        outputs[output["Name"]] = value
    return outputs


@contextmanager
def _aws_calls_limited_to(permissions: list[str], step: str) -> Iterator[None]:
    """Give scripts a fresh default boto3 session that denies actions not in ``permissions``."""

    def check(model: Any, **_: Any) -> None:
        action = f"{model.service_model.signing_name}:{model.name}"
        if action not in permissions:
            message = f"step {step} is not granted {action} (REQUIRED_PERMISSIONS: {permissions})"
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, model.name)

    session = boto3.Session()
    session.events.register("before-call", check)
    saved, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = saved


def _run_step(
    step: Mapping[str, Any],
    inputs: dict[str, Any],
    invoke_lambda: Callable[[str, dict], dict],
    clients: Mapping[str, Any],
) -> dict[str, Any]:
    action, name = step["action"], step["name"]
    if action == "aws:invokeLambdaFunction":
        payload = inputs.get("InputPayload", json.loads(inputs.get("Payload", "{}")))
        try:
            result = invoke_lambda(inputs["FunctionName"], payload)
        except Exception as error:  # a function error, as Lambda reports it
            raise StepFailed(name, f"{type(error).__name__}: {error}") from error
        return {"Payload": json.dumps(result), "StatusCode": 200}
    if action == "aws:executeScript":
        namespace: dict[str, Any] = {}
        exec(compile(inputs["Script"], f"<{name}>", "exec"), namespace)  # noqa: S102
        try:
            with _aws_calls_limited_to(namespace.get("REQUIRED_PERMISSIONS", []), name):
                result = namespace[inputs["Handler"]](inputs.get("InputPayload", {}), None)
        except Exception as error:  # a script error fails the step, as in AWS
            raise StepFailed(name, f"{type(error).__name__}: {error}") from error
        return {
            "OutputPayload": json.dumps({"Payload": result}),
            **_select(step, {"Payload": result}),
        }
    if action == "aws:executeAwsApi":
        client = clients[inputs["Service"]]
        parameters = {k: v for k, v in inputs.items() if k not in ("Service", "Api")}
        response = getattr(client, xform_name(inputs["Api"]))(**parameters)
        return _select(step, response)
    raise DocumentError(f"step {name}: {action} is not executable")


def _branch(step: Mapping[str, Any], inputs: Mapping[str, Any]) -> str | None:
    """The next step a branch chooses; None means 'the step after it' (or the end if isEnd)."""
    for choice in inputs["Choices"]:
        operator = next(iter(set(choice) & _OPERATORS))
        if choice["Variable"] == choice[operator]:
            return choice["NextStep"]
    return inputs.get("Default")


def run_document(
    document: Mapping[str, Any],
    parameters: Mapping[str, Any],
    *,
    invoke_lambda: Callable[[str, dict], dict],
    clients: Mapping[str, Any] | None = None,
    trace: list[str] | None = None,
) -> dict[str, Any]:
    """Validate and run the document; return its ``outputs`` (``"Step.Output": value``).

    ``invoke_lambda(function_name, payload) -> result`` stands in for Lambda;
    ``clients`` maps a service name (``"iam"``) to the boto3 client that
    ``aws:executeAwsApi`` steps use; ``trace`` collects the names of the steps run.
    """
    validate_document(document)
    scope: dict[str, Any] = resolve_parameters(document, parameters)
    steps = list(document["mainSteps"])
    index_of = {step["name"]: index for index, step in enumerate(steps)}
    index: int | None = 0
    while index is not None and index < len(steps):
        step = steps[index]
        if trace is not None:
            trace.append(step["name"])
        inputs = _render(step.get("inputs", {}), scope)
        if step["action"] == "aws:branch":
            target = _branch(step, inputs)
        else:
            outputs = _run_step(step, inputs, invoke_lambda, clients or {})
            scope.update({f"{step['name']}.{key}": value for key, value in outputs.items()})
            target = step.get("nextStep")
        if target is not None:
            index = index_of[target]
        elif step.get("isEnd", False):
            index = None
        else:
            index += 1
    return {ref: scope[ref] for ref in document.get("outputs", []) if ref in scope}
