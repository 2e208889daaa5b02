"""Render the deployable CloudFormation templates from parameters.json and the SSM document.

    python -m deploy.build [--out build] [--rdklib-dir build/rdklib]
        [--account-id 111122223333 --region eu-west-1 [--partition aws]]

writes ``account.yaml`` (one account: Lambdas, document, roles, rule and
remediation), ``stackset.yaml`` (the per-account parts alone, for a
service-managed StackSet) and ``conformance-pack.yaml`` (the rule and its
remediation, or the Guard variant). The sources in ``deploy/templates/`` mark
every value that comes from elsewhere as ``"@render:<name>"``; rendering fails
on an unknown or unused name, so nothing is left half-filled. With
``--rdklib-dir`` it also builds the two Lambda zips (see ``deploy.package``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import yaml

from deploy.limits import length_errors
from deploy.package import HELPER_ZIP, build_zips
from deploy.regions import region_refusal
from deploy.rule_resources import (
    AUTOMATION_ROLE_PARAMETER,
    HELPER_FUNCTION_PARAMETER,
    config_rule,
    remediation_configuration,
    rule_conditions,
    rule_parameters,
    source_details,
)
from deploy.rule_spec import RemediationSpec, RuleSpec, RuleSpecError, load_rule_spec

ROOT = Path(__file__).resolve().parent.parent
PARAMETERS_FILE = ROOT / "parameters.json"
DOCUMENT_FILE = ROOT / "remediation" / "MoveIAMUserPoliciesToGroup.yaml"
# The undo's document: deployed beside the move's, run by the same role and helper.
RESTORE_DOCUMENT_FILE = ROOT / "remediation" / "RestoreIAMUserPoliciesFromGroups.yaml"
GUARD_FILE = ROOT / "deploy" / "iam_user_no_direct_policies.guard"
TEMPLATES = ROOT / "deploy" / "templates"
CFN_GUARD_FILE = ROOT / "deploy" / "guard" / "cloudformation_checks.guard"

# A checkov skip and the Guard rule of the same concern: the build adds the
# Guard rule to the resource's Metadata.guard.SuppressedRules, so one reason
# (the checkov comment) serves both scanners.
GUARD_RULE_OF_CHECKOV_CHECK = {
    "CKV_AWS_115": "LAMBDA_CONCURRENCY_CHECK",
    "CKV_AWS_116": "LAMBDA_DLQ_CHECK",
    "CKV_AWS_158": "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
}

MARKER = "@render:"


@dataclass(frozen=True)
class PackTarget:
    """Where a conformance pack is put: the ARNs it names are written out for this account.

    For an organization pack, ``account_id`` is the management account's:
    Config puts each member account's ID in its place.
    """

    account_id: str
    region: str
    partition: str = "aws"

    def __post_init__(self) -> None:
        if not (len(self.account_id) == 12 and self.account_id.isdigit()):
            raise RuleSpecError(
                f"account ID {self.account_id!r} is not 12 digits; pass the account that puts "
                "the pack (the management account for an organization pack)."
            )
        refusal = region_refusal(self.region)
        if refusal:
            raise RuleSpecError(refusal)
        partitions = botocore.session.get_session().get_available_partitions()
        if self.partition not in partitions:
            raise RuleSpecError(
                f"partition {self.partition!r} is not one of {', '.join(partitions)}."
            )


# Renders the pack for tests and `make benchmark`; the command line never writes it.
EXAMPLE_PACK_TARGET = PackTarget(account_id="123456789012", region="us-east-1")


class _BlockStyleDumper(yaml.SafeDumper):
    """Writes multi-line strings (the document's markdown, the Guard rule) as ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStyleDumper.add_representer(str, _represent_str)


def render(node: Any, values: Mapping[str, Any], used: set[str] | None = None) -> Any:
    """Replace every ``"@render:<name>"`` value in ``node`` with ``values[name]``."""
    used = set() if used is None else used
    if isinstance(node, str) and node.startswith(MARKER):
        name = node[len(MARKER) :]
        if name not in values:
            raise KeyError(f"template value {node!r} has no renderer; known: {sorted(values)}")
        used.add(name)
        return copy.deepcopy(values[name])
    if isinstance(node, dict):
        return {key: render(value, values, used) for key, value in node.items()}
    if isinstance(node, list):
        return [render(item, values, used) for item in node]
    return node


def render_source(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Load ``deploy/templates/<name>`` and render it; every value must be used."""
    source = yaml.safe_load((TEMPLATES / name).read_text(encoding="utf-8"))
    used: set[str] = set()
    rendered = render(source, values, used)
    unused = set(values) - used
    if unused:
        raise KeyError(f"{name} has no place for rendered values {sorted(unused)}")
    add_guard_suppressions(rendered)
    return rendered


def add_guard_suppressions(template: dict[str, Any]) -> None:
    """Name in ``Metadata.guard.SuppressedRules`` the Guard rule of each checkov skip."""
    for resource in template.get("Resources", {}).values():
        skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        rules = [
            GUARD_RULE_OF_CHECKOV_CHECK[s["id"]]
            for s in skips
            if s["id"] in GUARD_RULE_OF_CHECKOV_CHECK
        ]
        if rules:
            resource["Metadata"]["guard"] = {"SuppressedRules": rules}


def group_path(spec: RuleSpec, document: Mapping[str, Any]) -> str:
    """The remediation's group path: the Remediation block's GroupPath, else the document's.

    The helper's group-writing actions are allowed on groups under this path only.
    """
    remediation = _remediation(spec)
    if "GroupPath" in remediation.static_parameters:
        return remediation.static_parameters["GroupPath"][0]
    return str(document["parameters"]["GroupPath"]["default"])


def _remediation(spec: RuleSpec) -> RemediationSpec:
    if spec.remediation is None:
        raise RuleSpecError(
            "parameters.json has no Parameters.Remediation block; the per-account resources "
            "are named after it: add it (TargetId, Parameters with AutomationAssumeRole and "
            f"{HELPER_FUNCTION_PARAMETER})."
        )
    return spec.remediation


def _static_value(spec: RuleSpec, parameter: str) -> str:
    values = _remediation(spec).static_parameters.get(parameter)
    if not values:
        raise RuleSpecError(
            f"parameters.json: Remediation.Parameters.{parameter} is missing; add it as "
            '{"StaticValue": {"Values": ["..."]}}: the deployed resource takes its name.'
        )
    return values[0]


def _names(spec: RuleSpec) -> dict[str, Any]:
    """Resource names, from the Remediation block: the StackSet creates what the pack names."""
    role_arn = _static_value(spec, AUTOMATION_ROLE_PARAMETER)
    helper = _static_value(spec, HELPER_FUNCTION_PARAMETER)
    return {
        "rule_function_name": spec.name,
        # A name or an ARN (arn:aws:lambda:<region>:<account>:function:<name>).
        "helper_function_name": helper.split(":function:")[-1],
        "automation_role_name": role_arn.rsplit("/", 1)[-1],
        "document_name": _remediation(spec).target_id,
    }


def _script_permissions(step: Mapping[str, Any]) -> list[str]:
    """The ``REQUIRED_PERMISSIONS`` list a script step that calls AWS declares."""
    tree = ast.parse(step.get("inputs", {}).get("Script", ""))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "REQUIRED_PERMISSIONS"
        ]:
            return list(ast.literal_eval(node.value))
    raise RuleSpecError(
        f"{DOCUMENT_FILE.name}: step {step.get('name')} calls AWS from a script without "
        "declaring REQUIRED_PERMISSIONS, so the automation role's permissions cannot be "
        'derived from the document; add REQUIRED_PERMISSIONS = ["service:Action", ...].'
    )


def automation_verify_permissions(document: Mapping[str, Any]) -> list[str]:
    """The actions of the document's own AWS calls (the verify step's reads).

    Derived from the steps, so the automation role follows the document: an
    API step's Service and Api, a script's ``REQUIRED_PERMISSIONS`` (the step
    runner denies a script any other call, so the tests prove the list).
    """
    actions = set()
    for step in document.get("mainSteps", []):
        inputs = step.get("inputs", {})
        if step.get("action") in ("aws:executeAwsApi", "aws:assertAwsResourceProperty"):
            actions.add(f"{inputs['Service'].lower()}:{inputs['Api']}")
        if step.get("action") == "aws:executeScript" and "boto3" in inputs.get("Script", ""):
            actions.update(_script_permissions(step))
    return sorted(actions)


def load_restore_document() -> dict[str, Any]:
    """The undo's SSM document, as rendered into the per-account template."""
    return dict(yaml.safe_load(RESTORE_DOCUMENT_FILE.read_text(encoding="utf-8")))


def render_stackset(
    spec: RuleSpec, document: Mapping[str, Any], restore: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The per-account resources: Lambdas, SSM documents (move and undo), roles (StackSet-ready)."""
    restore = load_restore_document() if restore is None else restore
    verify = automation_verify_permissions(document)
    if not verify:
        raise RuleSpecError(
            f"{DOCUMENT_FILE.name} has no step that reads AWS to verify the user with; "
            "the automation role's read permissions are derived from those steps."
        )
    values = {
        **_names(spec),
        "stack_description": f"{spec.name}: the rule's Lambda, the remediation helper Lambda, "
        "its SSM Automation document and their least-privilege roles.",
        "rule_description": spec.description[:256],
        "runtime": spec.runtime,
        "rule_handler": f"{spec.name}.lambda_handler",
        "rule_code": spec.code_key,
        "helper_code": HELPER_ZIP,
        "remediation_group_arn": (
            f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:group{group_path(spec, document)}*"
        ),
        "remediation_document": dict(document),
        "restore_document": dict(restore),
        "restore_document_name": RESTORE_DOCUMENT_FILE.stem,
        "automation_verify_actions": sorted({*verify, *automation_verify_permissions(restore)}),
        "automation_verify_resources": [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"}
        ],
    }
    return render_source("per-account.yaml", values)


def render_account(spec: RuleSpec, document: Mapping[str, Any]) -> dict[str, Any]:
    """One account: the per-account resources plus the Config rule and its remediation."""
    template = render_stackset(spec, document)
    template["Description"] = (
        f"{spec.name}: the AWS Config rule with automatic remediation, for one account."
    )
    template["Parameters"].update(rule_parameters(spec, document))
    template["Conditions"].update(rule_conditions(spec))
    template["Resources"]["ConfigRule"] = config_rule(
        spec, function_arn={"Fn::GetAtt": ["RuleFunction", "Arn"]}, depends_on="RulePermission"
    )
    template["Resources"]["Remediation"] = remediation_configuration(
        spec,
        rule_logical_id="ConfigRule",
        document_name={"Ref": "RemediationDocument"},
        automation_role_arn={"Fn::GetAtt": ["AutomationRole", "Arn"]},
        helper_function_name={"Ref": "HelperFunction"},
    )
    return template


def render_conformance_pack(
    spec: RuleSpec,
    document: Mapping[str, Any],
    guard_text: str,
    target: PackTarget = EXAMPLE_PACK_TARGET,
) -> dict[str, Any]:
    """The conformance pack: the Lambda rule and remediation, or the Guard rule (a parameter).

    The rule's Lambda and the automation role are plain ARNs naming ``target``'s
    account: a pack supports no ``Fn::Sub``, and none at all for AutomationAssumeRole.
    """
    names = _names(spec)
    values = {
        "helper_function_name": names["helper_function_name"],
        "document_name": names["document_name"],
        "guard_rule_name": f"{spec.name}_GUARD",
        "guard_rule_description": f"{spec.description} Detection only (Guard policy, no Lambda).",
        "resource_types": list(spec.resource_types),
        "guard_source_details": source_details(spec, periodic=False),
        "guard_policy_text": guard_text,
    }
    pack = render_source("conformance-pack.yaml", values)
    pack["Parameters"].update(rule_parameters(spec, document, for_pack=True))
    pack["Conditions"].update(rule_conditions(spec))
    function_arn = (
        f"arn:{target.partition}:lambda:{target.region}:{target.account_id}"
        f":function:{names['rule_function_name']}"
    )
    role_arn = (
        f"arn:{target.partition}:iam::{target.account_id}:role/{names['automation_role_name']}"
    )
    rule = config_rule(spec, function_arn=function_arn, depends_on=None)
    remediation = remediation_configuration(
        spec,
        rule_logical_id="ConfigRule",
        document_name={"Ref": "RemediationDocumentName"},
        automation_role_arn=role_arn,
        helper_function_name={"Ref": "HelperFunctionName"},
    )
    pack["Resources"] = {
        "ConfigRule": {"Condition": "UseLambdaRule", **rule},
        "Remediation": {"Condition": "UseLambdaRule", **remediation},
        **pack["Resources"],
    }
    return pack


def check_lengths(spec: RuleSpec) -> None:
    """Refuse rule parameter defaults that Config would refuse (deploy.limits)."""
    errors = length_errors(spec.input_parameters, "parameters.json")
    if errors:
        raise RuleSpecError(" ".join(errors))


def render_all(
    parameters_file: Path | None = None,
    document_file: Path | None = None,
    pack_target: PackTarget = EXAMPLE_PACK_TARGET,
) -> dict[str, dict[str, Any]]:
    """Every deployable template, by file name (from the project's own files by default)."""
    spec = load_rule_spec(parameters_file or PARAMETERS_FILE)
    check_lengths(spec)
    document_file = document_file or DOCUMENT_FILE
    if not document_file.is_file():
        raise RuleSpecError(f"The SSM document {document_file} is missing; it is rendered in.")
    document = yaml.safe_load(document_file.read_text(encoding="utf-8"))
    guard_text = GUARD_FILE.read_text(encoding="utf-8")
    return {
        "account.yaml": render_account(spec, document),
        "stackset.yaml": render_stackset(spec, document),
        "conformance-pack.yaml": render_conformance_pack(spec, document, guard_text, pack_target),
    }


def dump_template(template: Mapping[str, Any]) -> str:
    """A rendered template as YAML, in the order it was written."""
    header = "# Generated by `python -m deploy.build` from deploy/templates/: do not edit.\n"
    return header + yaml.dump(
        template, Dumper=_BlockStyleDumper, sort_keys=False, width=100, allow_unicode=True
    )


def write_templates(out_dir: Path, pack_target: PackTarget | None = None) -> list[Path]:
    """Render the templates into ``out_dir`` (the pack only for a target); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    templates = render_all(pack_target=pack_target or EXAMPLE_PACK_TARGET)
    if pack_target is None:
        del templates["conformance-pack.yaml"]
        (out_dir / "conformance-pack.yaml").unlink(missing_ok=True)
    for name, template in templates.items():
        path = out_dir / name
        path.write_text(dump_template(template), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: render the templates (and build the zips) into --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder")
    parser.add_argument(
        "--rdklib-dir", type=Path, help="pip --target folder with rdklib: also build the zips"
    )
    parser.add_argument(
        "--account-id", help="the account that puts the pack (an organization's management account)"
    )
    parser.add_argument("--region", help="the one region the pack goes to")
    parser.add_argument("--partition", default="aws", help="the account's partition (default aws)")
    args = parser.parse_args(argv)
    try:
        target = None
        if args.account_id or args.region:
            if not (args.account_id and args.region):
                raise RuleSpecError("pass both --account-id and --region to write the pack.")
            target = PackTarget(args.account_id, args.region, args.partition)
        written = write_templates(args.out, target)
        if args.rdklib_dir is not None:
            code_key = load_rule_spec(PARAMETERS_FILE).code_key
            written += build_zips(args.out, args.rdklib_dir, code_key)
    except (RuleSpecError, FileNotFoundError, RuntimeError) as error:
        print(f"deploy.build: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if target is None:
        print("conformance-pack.yaml not written: pass --account-id and --region for it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
