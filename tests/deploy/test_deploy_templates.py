"""Every deployment template agrees with parameters.json and the SSM document it is built from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from deploy import build
from deploy.package import HELPER_ZIP
from deploy.rule_resources import (
    AUTOMATION_ROLE_PARAMETER,
    EXEMPT_POLICIES_PARAMETER,
    HELPER_FUNCTION_PARAMETER,
)
from deploy.rule_spec import rule_spec_from_mapping

CHANGE_TRIGGERS = [
    {"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"},
    {"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"},
]
PER_ACCOUNT_RESOURCES = {
    "RuleDeadLetterQueue",
    "RuleDeadLetterAlarm",
    "RuleLogGroup",
    "RuleRole",
    "RuleFunction",
    "RulePermission",
    "HelperLogGroup",
    "HelperRole",
    "HelperFunction",
    "HelperPermission",
    "RemediationDocument",
    "RestoreDocument",
    "AutomationRole",
}


@pytest.fixture(params=["account.yaml", "conformance-pack.yaml"])
def rule_template(request, templates):
    """Each template that declares the Lambda-backed rule and its remediation."""
    return templates[request.param]


def _default(template, ref):
    """The default of the template parameter a ``{"Ref": ...}`` points to."""
    return template["Parameters"][ref["Ref"]]["Default"]


def test_rule_name_description_and_scope_come_from_parameters_json(rule_template, parameters_json):
    rule = rule_template["Resources"]["ConfigRule"]["Properties"]
    declared = parameters_json["Parameters"]
    assert rule["ConfigRuleName"] == declared["RuleName"]
    assert rule["Description"] == declared["Description"]
    assert rule["Scope"] == {"ComplianceResourceTypes": declared["SourceEvents"].split(",")}
    assert rule["Source"]["Owner"] == "CUSTOM_LAMBDA"


def test_rule_triggers_are_change_oversized_and_periodic_at_source_periodic(
    rule_template, parameters_json
):
    details = rule_template["Resources"]["ConfigRule"]["Properties"]["Source"]["SourceDetails"]
    assert details == [
        *CHANGE_TRIGGERS,
        {
            "EventSource": "aws.config",
            "MessageType": "ScheduledNotification",
            "MaximumExecutionFrequency": parameters_json["Parameters"]["SourcePeriodic"],
        },
    ]


def test_rule_input_parameters_are_template_parameters_defaulting_to_parameters_json(
    rule_template, parameters_json
):
    declared = {
        **json.loads(parameters_json["Parameters"]["OptionalParameters"]),
        **json.loads(parameters_json["Parameters"]["InputParameters"]),
    }
    inputs = rule_template["Resources"]["ConfigRule"]["Properties"]["InputParameters"]
    # AssumeRoleMode false: the rule runs as its own least-privilege role
    # (docs/deployment.md, Least privilege).
    assert inputs == {**{name: {"Ref": name} for name in declared}, "AssumeRoleMode": "false"}
    assert {name: _default(rule_template, inputs[name]) for name in declared} == declared


def test_remediation_matches_the_parameters_json_block(rule_template, parameters_json):
    block = parameters_json["Parameters"]["Remediation"]
    remediation = rule_template["Resources"]["Remediation"]["Properties"]
    assert remediation["ConfigRuleName"] == parameters_json["Parameters"]["RuleName"]
    assert rule_template["Resources"]["Remediation"]["DependsOn"] == "ConfigRule"
    assert remediation["TargetType"] == "SSM_DOCUMENT"
    assert remediation["ResourceType"] == block["ResourceType"]
    assert remediation["MaximumAutomaticAttempts"] == int(block["MaximumAutomaticAttempts"])
    assert remediation["RetryAttemptSeconds"] == int(block["RetryAttemptSeconds"])
    assert remediation["ExecutionControls"] == block["ExecutionControls"]
    assert remediation.get("TargetVersion") == block.get("TargetVersion")
    automatic = rule_template["Parameters"]["AutomaticRemediation"]
    assert automatic["Default"] == str(block["Automatic"]).lower()
    assert remediation["Automatic"] == {"Fn::If": ["AutomaticRemediationOn", True, False]}


def test_remediation_parameters_are_the_blocks_with_deployed_role_and_helper(
    rule_template, parameters_json
):
    declared = parameters_json["Parameters"]["Remediation"]["Parameters"]
    parameters = rule_template["Resources"]["Remediation"]["Properties"]["Parameters"]
    # Plus the rule's ExemptPolicyArns, when set (test_deploy_exemptions.py).
    assert parameters.keys() == declared.keys() | {EXEMPT_POLICIES_PARAMETER}
    assert parameters["IAMResourceId"] == {"ResourceValue": {"Value": "RESOURCE_ID"}}
    deployed = {AUTOMATION_ROLE_PARAMETER, HELPER_FUNCTION_PARAMETER}
    for name in declared.keys() - deployed - {EXEMPT_POLICIES_PARAMETER}:
        assert parameters[name] == declared[name], name


def test_account_remediation_targets_the_resources_it_deploys(account, parameters_json):
    remediation = account["Resources"]["Remediation"]["Properties"]
    assert remediation["TargetId"] == {"Ref": "RemediationDocument"}
    assert (
        _default(account, {"Ref": "RemediationDocumentName"})
        == (parameters_json["Parameters"]["Remediation"]["TargetId"])
    )
    static = remediation["Parameters"]
    assert static[AUTOMATION_ROLE_PARAMETER] == {
        "StaticValue": {"Values": [{"Fn::GetAtt": ["AutomationRole", "Arn"]}]}
    }
    assert static[HELPER_FUNCTION_PARAMETER] == {
        "StaticValue": {"Values": [{"Ref": "HelperFunction"}]}
    }
    rule = account["Resources"]["ConfigRule"]
    assert rule["Properties"]["Source"]["SourceIdentifier"] == {
        "Fn::GetAtt": ["RuleFunction", "Arn"]
    }
    assert rule["DependsOn"] == "RulePermission"


def test_pack_refers_to_the_stacksets_resources_by_their_names(pack, stackset):
    for name in ("HelperFunctionName", "RemediationDocumentName"):
        assert pack["Parameters"][name]["Default"] == stackset["Parameters"][name]["Default"]
    # The rule's Lambda and the automation role: plain ARNs (test_deploy_pack.py).
    assert not {"RuleFunctionName", "AutomationRoleName"} & pack["Parameters"].keys()


def test_ssm_document_content_is_the_remediation_yaml(account, stackset, document):
    for template in (account, stackset):
        resource = template["Resources"]["RemediationDocument"]["Properties"]
        assert resource["Content"] == document
        assert resource["DocumentType"] == "Automation"
    # SSM's limit on a document's content.
    assert len(json.dumps(document).encode()) < 64 * 1024


def test_lambdas_run_python_3_12_from_the_packaged_zips(stackset, parameters_json):
    rule = stackset["Resources"]["RuleFunction"]["Properties"]
    helper = stackset["Resources"]["HelperFunction"]["Properties"]
    assert (rule["Runtime"], helper["Runtime"]) == ("python3.12", "python3.12")
    assert rule["Handler"] == "IAM_USER_NO_DIRECT_POLICIES.lambda_handler"
    assert helper["Handler"] == "move_policies_to_group.lambda_handler"
    assert rule["Code"] == parameters_json["Parameters"]["CodeKey"]
    assert helper["Code"] == HELPER_ZIP


def test_stackset_holds_the_per_account_parts_and_account_adds_rule_and_remediation(
    account, stackset
):
    assert set(stackset["Resources"]) == PER_ACCOUNT_RESOURCES
    assert set(account["Resources"]) == PER_ACCOUNT_RESOURCES | {"ConfigRule", "Remediation"}


def test_pack_holds_only_config_rules_and_remediation_within_quotas(pack, rendered_dir):
    types = {resource["Type"] for resource in pack["Resources"].values()}
    assert types == {"AWS::Config::ConfigRule", "AWS::Config::RemediationConfiguration"}
    assert len(pack["Parameters"]) <= 60
    assert (rendered_dir / "conformance-pack.yaml").stat().st_size <= 51_200


def test_pack_offers_the_guard_rule_instead_of_the_lambda_rule(pack, spec):
    resources = pack["Resources"]
    assert resources["ConfigRule"]["Condition"] == "UseLambdaRule"
    assert resources["Remediation"]["Condition"] == "UseLambdaRule"
    guard = resources["GuardConfigRule"]
    assert guard["Condition"] == "UseGuardRule"
    source = guard["Properties"]["Source"]
    assert source["Owner"] == "CUSTOM_POLICY"
    assert source["CustomPolicyDetails"]["PolicyText"] == build.GUARD_FILE.read_text()
    # Custom policy rules are change-triggered only.
    assert source["SourceDetails"] == CHANGE_TRIGGERS
    assert guard["Properties"]["ConfigRuleName"] == f"{spec.name}_GUARD"
    assert pack["Parameters"]["RuleVariant"]["AllowedValues"] == ["Lambda", "Guard"]


def test_no_render_marker_is_left_in_any_template(rendered_dir):
    for path in rendered_dir.glob("*.yaml"):
        assert build.MARKER not in path.read_text(), path.name


def test_written_templates_load_back_to_the_rendered_ones(templates, rendered_dir):
    for name, template in templates.items():
        assert yaml.safe_load((rendered_dir / name).read_text()) == template


def test_build_command_writes_the_three_templates(tmp_path: Path, capsys):
    assert (
        build.main(
            ["--out", str(tmp_path), "--account-id", "111122223333", "--region", "eu-west-1"]
        )
        == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "account.yaml",
        "conformance-pack.yaml",
        "stackset.yaml",
    ]
    assert capsys.readouterr().out.count("wrote ") == 3


def test_render_refuses_a_marker_without_a_value():
    with pytest.raises(KeyError, match="'@render:nope' has no renderer"):
        build.render({"A": ["@render:nope"]}, {"known": 1})


def test_render_replaces_whole_values_without_touching_the_source():
    source = {"A": "@render:x", "B": ["keep", "@render:x"]}
    assert build.render(source, {"x": {"Ref": "X"}}) == {
        "A": {"Ref": "X"},
        "B": ["keep", {"Ref": "X"}],
    }
    assert source == {"A": "@render:x", "B": ["keep", "@render:x"]}


def test_deployed_names_come_from_the_remediation_block(stackset, parameters_json):
    static = parameters_json["Parameters"]["Remediation"]["Parameters"]
    role_arn = static["AutomationAssumeRole"]["StaticValue"]["Values"][0]
    defaults = {name: spec["Default"] for name, spec in stackset["Parameters"].items()}
    assert defaults["AutomationRoleName"] == role_arn.rsplit("/", 1)[-1]
    assert (
        defaults["HelperFunctionName"] == static["HelperFunctionName"]["StaticValue"]["Values"][0]
    )
    assert defaults["RuleFunctionName"] == parameters_json["Parameters"]["RuleName"]


def test_a_group_path_in_the_remediation_block_moves_the_helpers_write_scope(
    parameters_json, document
):
    changed = json.loads(json.dumps(parameters_json))
    changed["Parameters"]["Remediation"]["Parameters"]["GroupPath"] = {
        "StaticValue": {"Values": ["/moved/"]}
    }
    spec = rule_spec_from_mapping(changed)
    statements = build.render_stackset(spec, document)["Resources"]["HelperRole"]["Properties"][
        "Policies"
    ][0]["PolicyDocument"]["Statement"]
    writes = next(s for s in statements if s["Sid"] == "WriteRemediationGroupsOnly")
    assert writes["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:group/moved/*"
    }


def test_every_template_with_the_move_deploys_the_undo_beside_it(account, stackset):
    restore = build.load_restore_document()
    for template in (account, stackset):
        document = template["Resources"]["RestoreDocument"]["Properties"]
        assert document["Content"] == restore
        assert document["DocumentType"] == "Automation"
        assert template["Parameters"]["RestoreDocumentName"]["Default"] == (
            "RestoreIAMUserPoliciesFromGroups"
        )
