"""Config's limits, read from AWS's models, hold wherever a value is set.

Checked in the template, the SSM document, the build and the preflight. A
remediation ``StaticValue`` value takes at most 256 characters and a rule's
``InputParameters`` at most 1,024 in all; about five exempt policy ARNs
already break the first. Each limit is read from botocore's service models
or cfn-lint's schemas here, never typed in.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_models import (
    documented_maximum_bytes,
    member_shape,
    resource_schema,
    shape,
)

from deploy import build, limits
from deploy.rule_resources import EXEMPT_POLICIES_PARAMETER
from deploy.rule_spec import FREQUENCIES, RuleSpecError, rule_spec_from_mapping
from no_direct_policies.simulation.document_runner import DocumentError, resolve_parameters

ROOT = Path(__file__).resolve().parents[2]
FIVE_POLICIES = ",".join(
    f"arn:aws:iam::123456789012:policy/platform/BreakGlassAccessPolicy{n}" for n in range(5)
)


def static_value_max() -> int:
    return shape("config", shape("config", "StaticParameterValues")["member"]["shape"])["max"]


def input_parameters_max() -> int:
    return member_shape("config", "ConfigRule", "InputParameters")["max"]


def with_optional(parameters_json: dict[str, Any], **values: str) -> dict[str, Any]:
    changed = copy.deepcopy(parameters_json)
    optional = json.loads(changed["Parameters"]["OptionalParameters"])
    optional.update(values)
    changed["Parameters"]["OptionalParameters"] = json.dumps(optional)
    return changed


# --- The limits are Config's ----------------------------------------------


def test_the_projects_limits_are_configs_api_model():
    assert static_value_max() == limits.STATIC_VALUE_MAX
    assert input_parameters_max() == limits.INPUT_PARAMETERS_MAX


def test_five_exempt_policy_arns_break_the_static_value_limit():
    assert len(FIVE_POLICIES) > static_value_max()


def test_maximum_automatic_attempts_accepted_are_configs(parameters_json):
    allowed = shape("config", "AutoRemediationAttempts")
    for value, accepted in [
        (allowed["min"], True),
        (allowed["max"], True),
        (allowed["min"] - 1, False),
        (allowed["max"] + 1, False),
    ]:
        changed = copy.deepcopy(parameters_json)
        changed["Parameters"]["Remediation"]["MaximumAutomaticAttempts"] = value
        if accepted:
            assert rule_spec_from_mapping(changed).remediation.maximum_automatic_attempts == value
        else:
            with pytest.raises(RuleSpecError, match="MaximumAutomaticAttempts"):
                rule_spec_from_mapping(changed)


def test_periodic_frequencies_are_configs():
    assert list(FREQUENCIES) == shape("config", "MaximumExecutionFrequency")["enum"]


def test_log_retention_values_are_cloudwatch_logs(stackset):
    allowed = resource_schema("us-east-1", "AWS::Logs::LogGroup")["properties"]["RetentionInDays"]
    assert set(stackset["Parameters"]["LogRetentionDays"]["AllowedValues"]) <= set(allowed["enum"])


def test_templates_fit_their_template_body_limits(rendered_dir, pack):
    stack_body_max = documented_maximum_bytes(
        "cloudformation", "CreateStackSetInput", "TemplateBody"
    )
    for name in ("account.yaml", "stackset.yaml"):
        assert (rendered_dir / name).stat().st_size <= stack_body_max, name
    pack_body_max = member_shape("config", "PutOrganizationConformancePackRequest", "TemplateBody")
    assert (rendered_dir / "conformance-pack.yaml").stat().st_size <= pack_body_max["max"]
    pack_parameters_max = shape("config", "ConformancePackInputParameters")["max"]
    assert len(pack["Parameters"]) <= pack_parameters_max


# --- Where a user sets the value ------------------------------------------


def test_account_template_bounds_the_exemption_by_the_static_value_limit(account):
    assert account["Parameters"][EXEMPT_POLICIES_PARAMETER]["MaxLength"] == static_value_max()
    assert (
        "at most 256 characters"
        in account["Parameters"][EXEMPT_POLICIES_PARAMETER]["ConstraintDescription"]
    )


def test_account_template_bounds_every_rule_parameter_by_the_input_parameters_limit(account, spec):
    everything_empty = json.dumps(
        {**dict.fromkeys(spec.input_parameters, ""), "AssumeRoleMode": "false"}
    )
    for name in spec.input_parameters:
        longest = account["Parameters"][name]["MaxLength"]
        assert longest <= input_parameters_max() - len(everything_empty), name


def test_the_document_bounds_the_exemption_by_the_static_value_limit(document):
    assert document["parameters"][EXEMPT_POLICIES_PARAMETER]["maxChars"] == static_value_max()
    given = {
        "IAMResourceId": "AIDAEXAMPLEEXAMPLE1234",
        "AutomationAssumeRole": "arn:aws:iam::123456789012:role/automation",
    }
    with pytest.raises(DocumentError, match="more than maxChars 256"):
        resolve_parameters(document, {**given, EXEMPT_POLICIES_PARAMETER: FIVE_POLICIES})


def test_build_refuses_an_exemption_config_would_refuse(parameters_json, tmp_path):
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps(with_optional(parameters_json, ExemptPolicyArns=FIVE_POLICIES)))
    with pytest.raises(RuleSpecError) as refused:
        build.render_all(path)
    assert str(refused.value) == (
        f"parameters.json: ExemptPolicyArns is {len(FIVE_POLICIES)} characters; Config accepts "
        "at most 256 in a remediation parameter. Exempt fewer policies "
        "(see docs/deployment.md, Exempting many policies)."
    )


def test_build_refuses_input_parameters_longer_than_config_accepts(parameters_json, tmp_path):
    path = tmp_path / "parameters.json"
    names = ",".join(f"user-{n:04d}" for n in range(100))
    path.write_text(json.dumps(with_optional(parameters_json, ExemptUserNames=names)))
    with pytest.raises(
        RuleSpecError,
        match=r"InputParameters would be \d+ characters; Config "
        r"accepts at most 1024 in all\. Shorten ExemptUserNames \(999 characters\)\.",
    ):
        build.render_all(path)


def test_build_counts_exempt_user_tags_in_the_input_parameters(parameters_json, tmp_path):
    path = tmp_path / "parameters.json"
    tags = ",".join(f"ManagedBy=stack-{n:04d}" for n in range(50))
    path.write_text(json.dumps(with_optional(parameters_json, ExemptUserTags=tags)))
    with pytest.raises(
        RuleSpecError,
        match=rf"accepts at most 1024 in all\. Shorten ExemptUserTags \({len(tags)} characters\)",
    ):
        build.render_all(path)


def preflight_lengths(overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv: the project's own module
        [sys.executable, "-m", "deploy.limits", overrides],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_preflight_refuses_overrides_config_would_refuse():
    result = preflight_lengths(f"AutomaticRemediation=false ExemptPolicyArns={FIVE_POLICIES}")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"PARAMETER_OVERRIDES: ExemptPolicyArns is {len(FIVE_POLICIES)} characters; Config "
        "accepts at most 256 in a remediation parameter. Exempt fewer policies "
        "(see docs/deployment.md, Exempting many policies)."
    ]


def test_preflight_accepts_overrides_within_the_limits():
    result = preflight_lengths("ExemptPolicyArns=arn:aws:iam::aws:policy/IAMUserChangePassword")
    assert (result.returncode, result.stderr) == (0, "")
