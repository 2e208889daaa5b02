"""The Config rule, its input parameters and its remediation as CloudFormation, from ``RuleSpec``.

The single-account template and the conformance pack both declare the same
rule and remediation; they differ only in how they refer to the Lambda, the
role and the document. Building them here, from parameters.json, keeps the two
from drifting apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from deploy.limits import STATIC_VALUE_MAX, longest_single_value
from deploy.rule_spec import RemediationSpec, RuleSpec, RuleSpecError

# The remediation document's parameters that name deployed resources: the
# templates fill them with what they deploy, whatever parameters.json holds.
AUTOMATION_ROLE_PARAMETER = "AutomationAssumeRole"
HELPER_FUNCTION_PARAMETER = "HelperFunctionName"

# The rule's Lambda uses its own least-privilege role instead of assuming
# Config's role (rdklib's default): see docs/deployment.md, Least privilege.
RDKLIB_PARAMETERS = {"AssumeRoleMode": "false"}

AUTOMATIC_CONDITION = "AutomaticRemediationOn"

# The rule's exemption the remediation must honour too: the document takes a
# parameter of the same name, fed from the same template parameter as the rule.
# Config may reject an empty StaticValue, so it is passed only when set (the
# document's default, no exemption, applies otherwise).
EXEMPT_POLICIES_PARAMETER = "ExemptPolicyArns"
EXEMPT_POLICIES_CONDITION = "ExemptPolicyArnsSet"


def _passes_exemptions(spec: RuleSpec) -> bool:
    return spec.remediation is not None and EXEMPT_POLICIES_PARAMETER in spec.input_parameters


def rule_parameters(
    spec: RuleSpec, document: Mapping[str, Any], *, for_pack: bool = False
) -> dict[str, Any]:
    """Template parameters: one per rule input parameter, plus automatic remediation on/off.

    The rule parameter the remediation also receives (``ExemptPolicyArns``)
    takes the SSM document's ``allowedPattern``, so a value the document would
    refuse fails the deployment instead of every remediation run. A stack's
    parameters also take ``MaxLength`` from Config's limits (deploy.limits); a
    pack keeps to what AWS's published packs use (no MaxLength or
    ConstraintDescription), and the build and the preflight check its lengths.
    """
    single_max = longest_single_value(list(spec.input_parameters))
    parameters: dict[str, Any] = {}
    for name, default in spec.input_parameters.items():
        parameters[name] = {
            "Type": "String",
            "Description": f"Rule parameter {name} (see docs/rule.md, Parameters).",
            "Default": default,
        }
        if not for_pack:
            parameters[name]["MaxLength"] = single_max
    if _passes_exemptions(spec):
        declared = document.get("parameters", {}).get(EXEMPT_POLICIES_PARAMETER)
        if declared is None:
            raise RuleSpecError(
                f"The SSM document has no {EXEMPT_POLICIES_PARAMETER} parameter, so the "
                "remediation cannot honour the rule's exemption; declare it in the document."
            )
        pattern = declared.get("allowedPattern")
        if pattern is not None:
            if not re.fullmatch(pattern, spec.input_parameters[EXEMPT_POLICIES_PARAMETER]):
                raise RuleSpecError(
                    f"parameters.json: the rule's {EXEMPT_POLICIES_PARAMETER} default does not "
                    "match the SSM document's allowedPattern for it; write comma-separated "
                    "managed policy ARNs, or nothing."
                )
            parameters[EXEMPT_POLICIES_PARAMETER]["AllowedPattern"] = pattern
            if not for_pack:
                parameters[EXEMPT_POLICIES_PARAMETER].update(
                    MaxLength=STATIC_VALUE_MAX,
                    ConstraintDescription="comma-separated managed policy ARNs such as "
                    "arn:aws:iam::aws:policy/IAMUserChangePassword, at most "
                    f"{STATIC_VALUE_MAX} characters in all (Config's limit on a remediation "
                    "parameter), or empty; the remediation's SSM document accepts nothing else.",
                )
    if spec.remediation is not None:
        parameters["AutomaticRemediation"] = {
            "Type": "String",
            "Description": "true: Config runs the remediation on every noncompliant user; "
            "false: it runs only when started from the console or API.",
            "Default": "true" if spec.remediation.automatic else "false",
            "AllowedValues": ["true", "false"],
        }
    return parameters


def rule_conditions(spec: RuleSpec) -> dict[str, Any]:
    """The conditions of the remediation: Automatic on, and an exemption to pass on."""
    if spec.remediation is None:
        return {}
    conditions: dict[str, Any] = {
        AUTOMATIC_CONDITION: {"Fn::Equals": [{"Ref": "AutomaticRemediation"}, "true"]}
    }
    if _passes_exemptions(spec):
        conditions[EXEMPT_POLICIES_CONDITION] = {
            "Fn::Not": [{"Fn::Equals": [{"Ref": EXEMPT_POLICIES_PARAMETER}, ""]}]
        }
    return conditions


def source_details(spec: RuleSpec, *, periodic: bool = True) -> list[dict[str, str]]:
    """The rule's triggers: configuration changes (normal and oversized) and the periodic sweep."""
    details = []
    if spec.resource_types:
        details += [
            {"EventSource": "aws.config", "MessageType": message_type}
            for message_type in (
                "ConfigurationItemChangeNotification",
                "OversizedConfigurationItemChangeNotification",
            )
        ]
    if periodic and spec.maximum_execution_frequency:
        details.append(
            {
                "EventSource": "aws.config",
                "MessageType": "ScheduledNotification",
                "MaximumExecutionFrequency": spec.maximum_execution_frequency,
            }
        )
    return details


def config_rule(spec: RuleSpec, *, function_arn: Any, depends_on: str | None) -> dict[str, Any]:
    """The ``AWS::Config::ConfigRule`` backed by the rule's Lambda."""
    properties: dict[str, Any] = {
        "ConfigRuleName": spec.name,
        "Description": spec.description,
        "Source": {
            "Owner": "CUSTOM_LAMBDA",
            "SourceIdentifier": function_arn,
            "SourceDetails": source_details(spec),
        },
        "InputParameters": {
            **{name: {"Ref": name} for name in spec.input_parameters},
            **RDKLIB_PARAMETERS,
        },
    }
    if spec.resource_types:
        properties["Scope"] = {"ComplianceResourceTypes": list(spec.resource_types)}
    resource: dict[str, Any] = {"Type": "AWS::Config::ConfigRule", "Properties": properties}
    if depends_on:
        resource["DependsOn"] = depends_on
    return resource


def _exempt_policies(spec: RuleSpec, remediation: RemediationSpec) -> dict[str, Any]:
    """The rule's ExemptPolicyArns as the document's, only when set (one source: the rule's)."""
    declared = remediation.static_parameters.get(EXEMPT_POLICIES_PARAMETER)
    rule_default = spec.input_parameters[EXEMPT_POLICIES_PARAMETER]
    if declared is not None and declared != [rule_default]:
        raise RuleSpecError(
            f"parameters.json: Remediation.Parameters.{EXEMPT_POLICIES_PARAMETER} is {declared!r} "
            f"but the rule's {EXEMPT_POLICIES_PARAMETER} is {rule_default!r}; the templates pass "
            "the rule's value to the remediation: set it in OptionalParameters and remove it "
            "from (or make it equal in) the Remediation block."
        )
    return {
        "Fn::If": [
            EXEMPT_POLICIES_CONDITION,
            {"StaticValue": {"Values": [{"Ref": EXEMPT_POLICIES_PARAMETER}]}},
            {"Ref": "AWS::NoValue"},
        ]
    }


def remediation_configuration(
    spec: RuleSpec,
    *,
    rule_logical_id: str,
    document_name: Any,
    automation_role_arn: Any,
    helper_function_name: Any,
) -> dict[str, Any]:
    """The ``AWS::Config::RemediationConfiguration`` of parameters.json's Remediation block."""
    remediation = spec.remediation
    if remediation is None:
        raise RuleSpecError(
            "parameters.json has no Parameters.Remediation block; add it "
            "(TargetType SSM_DOCUMENT, TargetId, Parameters) to deploy the remediation."
        )
    deployed = {AUTOMATION_ROLE_PARAMETER: automation_role_arn}
    deployed[HELPER_FUNCTION_PARAMETER] = helper_function_name
    missing = sorted(set(deployed) - set(remediation.static_parameters))
    if missing:
        raise RuleSpecError(
            f"parameters.json: Remediation.Parameters lacks {', '.join(missing)}; add each "
            'as {"StaticValue": {"Values": ["..."]}} (the templates fill in the deployed value).'
        )
    parameters: dict[str, Any] = {
        name: {"ResourceValue": {"Value": value}}
        for name, value in remediation.resource_parameters.items()
    }
    for name, values in remediation.static_parameters.items():
        parameters[name] = {
            "StaticValue": {"Values": [deployed[name]] if name in deployed else values}
        }
    if _passes_exemptions(spec):
        parameters[EXEMPT_POLICIES_PARAMETER] = _exempt_policies(spec, remediation)
    properties: dict[str, Any] = {
        # The name itself, not a Ref: conformance packs support few intrinsic functions.
        "ConfigRuleName": spec.name,
        "TargetType": "SSM_DOCUMENT",
        "TargetId": document_name,
        "ResourceType": remediation.resource_type,
        "Automatic": {"Fn::If": [AUTOMATIC_CONDITION, True, False]},
        "MaximumAutomaticAttempts": remediation.maximum_automatic_attempts,
        "RetryAttemptSeconds": remediation.retry_attempt_seconds,
        "Parameters": parameters,
    }
    if remediation.target_version is not None:
        properties["TargetVersion"] = remediation.target_version
    if remediation.execution_controls is not None:
        properties["ExecutionControls"] = remediation.execution_controls
    return {
        "Type": "AWS::Config::RemediationConfiguration",
        "DependsOn": rule_logical_id,
        "Properties": properties,
    }
