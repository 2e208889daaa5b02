"""The remediation honours the rule's ExemptPolicyArns in every template that deploys it.

The rule ignores exempt policies; a remediation that moved them anyway would
contradict it. Both the account template and the conformance pack feed the
one template parameter ``ExemptPolicyArns`` to the rule's InputParameters and,
when it is not empty, to the remediation's ``StaticValue`` of the document's
parameter of the same name. The templates are resolved here as CloudFormation
would for given parameter values: conditions evaluated, ``Fn::If`` chosen,
``AWS::NoValue`` dropped, resources whose condition is false left out.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from deploy import build
from deploy.rule_resources import EXEMPT_POLICIES_PARAMETER
from deploy.rule_spec import RuleSpecError, rule_spec_from_mapping

TEMPLATES = ["account.yaml", "conformance-pack.yaml"]
EXEMPT = "arn:aws:iam::aws:policy/IAMUserChangePassword, arn:aws:iam::123456789012:policy/team/Keep"

_NO_VALUE = object()


class _Resolver:
    """A template's values for given parameters, as CloudFormation resolves them."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str]) -> None:
        unknown = set(overrides) - set(template["Parameters"])
        assert not unknown, f"no such template parameters: {unknown}"
        self.template = template
        self.parameters = {
            name: overrides.get(name, declared.get("Default"))
            for name, declared in template["Parameters"].items()
        }
        for name, value in self.parameters.items():
            pattern = template["Parameters"][name].get("AllowedPattern")
            # CloudFormation refuses the stack when a value does not match the whole pattern.
            assert pattern is None or re.fullmatch(pattern, value), (name, value)
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self.conditions[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, argument), *_ = node.items()
            function = self._functions().get(key)
            if function is not None and not (key == "Ref" and argument not in self._refs()):
                return function(argument)
        # Anything else (Fn::GetAtt, Fn::Sub, Refs to resources) is kept as written.
        return {
            k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not _NO_VALUE
        }

    def _refs(self) -> set[str]:
        return {"AWS::NoValue", *self.parameters}

    def _functions(self) -> dict[str, Any]:
        def if_(argument: list[Any]) -> Any:
            name, if_true, if_false = argument
            return self.value(if_true if self.condition(name) else if_false)

        return {
            "Ref": lambda name: _NO_VALUE if name == "AWS::NoValue" else self.parameters[name],
            "Condition": self.condition,
            "Fn::If": if_,
            "Fn::Equals": lambda pair: self.value(pair[0]) == self.value(pair[1]),
            "Fn::Not": lambda single: not self.value(single[0]),
            "Fn::And": lambda items: all(self.value(item) for item in items),
            "Fn::Or": lambda items: any(self.value(item) for item in items),
        }

    def resources(self) -> dict[str, Any]:
        """The resources CloudFormation would create, with their resolved properties."""
        return {
            name: self.value(resource.get("Properties", {}))
            for name, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }


def resolved(template: dict[str, Any], **overrides: str) -> dict[str, Any]:
    return _Resolver(template, overrides).resources()


def remediation_parameters(template: dict[str, Any], **overrides: str) -> dict[str, Any]:
    return resolved(template, **overrides)["Remediation"]["Parameters"]


def with_rule_default(parameters_json: dict[str, Any], value: str) -> dict[str, Any]:
    changed = copy.deepcopy(parameters_json)
    declared = changed["Parameters"]
    optional = json.loads(declared["OptionalParameters"])
    optional[EXEMPT_POLICIES_PARAMETER] = value
    declared["OptionalParameters"] = json.dumps(optional)
    return changed


def render(parameters_json: dict[str, Any], document: dict[str, Any], name: str) -> dict[str, Any]:
    spec = rule_spec_from_mapping(parameters_json)
    if name == "account.yaml":
        return build.render_account(spec, document)
    return build.render_conformance_pack(spec, document, build.GUARD_FILE.read_text())


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_set_exemption_reaches_the_remediation_exactly(templates, name):
    resources = resolved(templates[name], ExemptPolicyArns=EXEMPT)
    assert resources["Remediation"]["Parameters"][EXEMPT_POLICIES_PARAMETER] == {
        "StaticValue": {"Values": [EXEMPT]}
    }
    # The very value the rule ignores.
    assert resources["ConfigRule"]["InputParameters"][EXEMPT_POLICIES_PARAMETER] == EXEMPT


@pytest.mark.parametrize("name", TEMPLATES)
def test_an_empty_exemption_passes_nothing_to_the_remediation(templates, name):
    for parameters in (
        remediation_parameters(templates[name]),
        remediation_parameters(templates[name], ExemptPolicyArns=""),
    ):
        # Config may refuse an empty StaticValue; the document's default (none) applies.
        assert EXEMPT_POLICIES_PARAMETER not in parameters
        assert {"IAMResourceId", "AutomationAssumeRole", "HelperFunctionName"} <= parameters.keys()


@pytest.mark.parametrize("name", TEMPLATES)
def test_an_exemption_set_in_parameters_json_is_the_remediations_default(
    parameters_json, document, name
):
    template = render(with_rule_default(parameters_json, EXEMPT), document, name)
    assert template["Parameters"][EXEMPT_POLICIES_PARAMETER]["Default"] == EXEMPT
    assert remediation_parameters(template)[EXEMPT_POLICIES_PARAMETER] == {
        "StaticValue": {"Values": [EXEMPT]}
    }
    assert EXEMPT_POLICIES_PARAMETER not in remediation_parameters(template, ExemptPolicyArns="")


def test_the_guard_variant_of_the_pack_has_no_remediation_to_pass_it_to(pack):
    resources = resolved(pack, RuleVariant="Guard", ExemptPolicyArns=EXEMPT)
    assert set(resources) == {"GuardConfigRule"}


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        (EXEMPT, True),
        ("arn:aws-cn:iam::aws:policy/ReadOnlyAccess", True),
        # The rule drops blank items; the document's allowedPattern refuses some of them.
        (", arn:aws:iam::aws:policy/ReadOnlyAccess", False),
        ("   ", False),
        ("ReadOnlyAccess", False),
    ],
)
def test_the_parameter_accepts_only_what_the_document_accepts(
    templates, document, name, value, accepted
):
    declared = templates[name]["Parameters"][EXEMPT_POLICIES_PARAMETER]
    pattern = document["parameters"][EXEMPT_POLICIES_PARAMETER]["allowedPattern"]
    assert declared["AllowedPattern"] == pattern
    assert bool(re.fullmatch(declared["AllowedPattern"], value)) is accepted
    # So a value passed on is never blank: the condition's test for "" suffices.
    if accepted and value:
        assert value.strip()


def test_a_default_the_document_would_refuse_is_refused_at_build(parameters_json, document):
    changed = with_rule_default(parameters_json, " ")
    with pytest.raises(RuleSpecError, match="does not match the SSM document's allowedPattern"):
        render(changed, document, "account.yaml")


def test_a_remediation_block_value_must_agree_with_the_rule(parameters_json, document):
    changed = with_rule_default(parameters_json, EXEMPT)
    block = changed["Parameters"]["Remediation"]["Parameters"]
    block[EXEMPT_POLICIES_PARAMETER] = {"StaticValue": {"Values": [EXEMPT]}}
    # Equal (as `rdk deploy` needs it): accepted, and the templates still pass the rule's parameter.
    for name in TEMPLATES:
        template = render(changed, document, name)
        assert remediation_parameters(template)[EXEMPT_POLICIES_PARAMETER] == {
            "StaticValue": {"Values": [EXEMPT]}
        }
        assert EXEMPT_POLICIES_PARAMETER not in remediation_parameters(
            template, ExemptPolicyArns=""
        )
    block[EXEMPT_POLICIES_PARAMETER] = {
        "StaticValue": {"Values": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}
    }
    with pytest.raises(RuleSpecError, match="the templates pass the rule's value"):
        render(changed, document, "account.yaml")
