"""The conformance pack keeps to the template features AWS's own published packs use.

Config supports no intrinsic function for a remediation's
``AutomationAssumeRole`` nor for ``ConfigRuleName``: the pack names the
automation role and the rule's Lambda by plain ARNs, written by the build for
the account that puts the pack (for an organization pack, the management
account: Config puts each member's ID in its place).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import build
from deploy.rule_spec import RuleSpecError

# What AWS's published conformance packs use, and nothing else.
PACK_FEATURES = {
    "sections": {"Parameters", "Conditions", "Resources"},
    "parameter keys": {"Type", "Default", "Description", "AllowedValues", "AllowedPattern"},
    "parameter types": {"String"},
    "functions": {"Ref", "Fn::If", "Fn::Equals", "Fn::Not"},
    "pseudo parameters": {"AWS::NoValue"},
    # DependsOn orders the remediation after its rule: the two refer to each
    # other by a plain name, which CloudFormation cannot follow.
    "resource keys": {"Type", "Properties", "Condition", "DependsOn"},
}
MANAGEMENT = build.PackTarget(account_id="111122223333", region="eu-west-1")


def pack_features(pack: dict[str, Any]) -> dict[str, set[str]]:
    """The template features a pack uses, in PACK_FEATURES' terms."""
    found: dict[str, set[str]] = {key: set() for key in PACK_FEATURES}
    found["sections"] = set(pack)
    for parameter in pack.get("Parameters", {}).values():
        found["parameter keys"] |= set(parameter)
        found["parameter types"].add(parameter["Type"])
    for resource in pack["Resources"].values():
        found["resource keys"] |= set(resource)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" or key.startswith("Fn::"):
                    found["functions"].add(key)
                if key == "Ref" and value.startswith("AWS::"):
                    found["pseudo parameters"].add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in pack.items() if k != "Parameters"})
    return found


@pytest.fixture(scope="module")
def management_pack(spec, document) -> dict[str, Any]:
    """The pack as `make deploy-org` renders it for a management account."""
    return build.render_conformance_pack(spec, document, build.GUARD_FILE.read_text(), MANAGEMENT)


def test_pack_uses_only_the_features_of_aws_published_packs(management_pack):
    found = pack_features(management_pack)
    extra = {kind: sorted(found[kind] - allowed) for kind, allowed in PACK_FEATURES.items()}
    assert extra == {kind: [] for kind in PACK_FEATURES}


def test_feature_check_catches_fn_sub_and_a_pseudo_parameter():
    pack = {
        "Resources": {
            "R": {
                "Type": "AWS::Config::ConfigRule",
                "Properties": {"A": {"Fn::Sub": "x"}, "B": {"Ref": "AWS::AccountId"}},
            }
        }
    }
    found = pack_features(pack)
    assert found["functions"] == {"Fn::Sub", "Ref"}
    assert found["pseudo parameters"] == {"AWS::AccountId"}


def test_automation_role_is_the_exact_arn_in_the_management_account(management_pack, spec):
    static = management_pack["Resources"]["Remediation"]["Properties"]["Parameters"]
    assert static["AutomationAssumeRole"] == {
        "StaticValue": {
            "Values": ["arn:aws:iam::111122223333:role/IAM_USER_NO_DIRECT_POLICIES-automation"]
        }
    }


def test_rule_lambda_is_the_exact_arn_in_the_pack_region(management_pack, spec):
    source = management_pack["Resources"]["ConfigRule"]["Properties"]["Source"]
    assert source["SourceIdentifier"] == (
        f"arn:aws:lambda:eu-west-1:111122223333:function:{spec.name}"
    )


def test_config_rule_names_are_plain_strings(management_pack, spec):
    resources = management_pack["Resources"]
    assert resources["ConfigRule"]["Properties"]["ConfigRuleName"] == spec.name
    assert resources["Remediation"]["Properties"]["ConfigRuleName"] == spec.name


def test_the_partition_is_the_accounts(spec, document):
    target = build.PackTarget(account_id="111122223333", region="cn-north-1", partition="aws-cn")
    pack = build.render_conformance_pack(spec, document, build.GUARD_FILE.read_text(), target)
    role = pack["Resources"]["Remediation"]["Properties"]["Parameters"]["AutomationAssumeRole"]
    assert role["StaticValue"]["Values"][0].startswith("arn:aws-cn:iam::111122223333:role/")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"account_id": "1234", "region": "eu-west-1"}, "is not 12 digits"),
        ({"account_id": "111122223333", "region": "eu-west-1", "partition": "aws-moon"}, "aws-cn"),
        ({"account_id": "111122223333", "region": "mx-central-1"}, "no AWS::Config::Remediation"),
    ],
)
def test_a_pack_target_that_cannot_work_is_refused(arguments, message):
    with pytest.raises(RuleSpecError, match=message):
        build.PackTarget(**arguments)


def test_build_writes_the_pack_only_for_a_named_account(tmp_path: Path, capsys):
    assert build.main(["--out", str(tmp_path)]) == 0
    assert not (tmp_path / "conformance-pack.yaml").exists()
    assert "pass --account-id and --region" in capsys.readouterr().out
    assert (
        build.main(
            ["--out", str(tmp_path), "--account-id", "111122223333", "--region", "eu-west-1"]
        )
        == 0
    )
    pack = yaml.safe_load((tmp_path / "conformance-pack.yaml").read_text())
    assert (
        "111122223333"
        in pack["Resources"]["ConfigRule"]["Properties"]["Source"]["SourceIdentifier"]
    )
    assert build.main(["--out", str(tmp_path), "--region", "eu-west-1"]) == 2
