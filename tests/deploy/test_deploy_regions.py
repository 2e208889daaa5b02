"""Regions: cfn-lint on every rendered template for every region, and where the rule may run.

``AWS::Config::RemediationConfiguration`` does not exist in some regions
(cfn-lint E3006); Config cannot record IAM users in regions it reached after
February 2022. The deployment refuses both kinds, and nothing else.
"""

from __future__ import annotations

import cfnlint.api
import doc_tables
import pytest
from aws_models import regions_resource_types
from cfnlint.api import ManualArgs

from deploy import build
from deploy.regions import NO_IAM_RECORDING, NO_REMEDIATION_CONFIGURATION, region_refusal

REGIONS = sorted(regions_resource_types())
REMEDIATION = "AWS::Config::RemediationConfiguration"


@pytest.fixture(scope="module")
def findings_by_template(templates) -> dict[str, list[tuple[str, str, list]]]:
    """cfn-lint's findings on each rendered template for every region it knows."""
    return {
        name: [
            (match.rule.id, match.message, match.path)
            for match in cfnlint.api.lint(
                build.dump_template(template), config=ManualArgs(regions=REGIONS)
            )
        ]
        for name, template in templates.items()
    }


def test_the_only_regional_finding_is_the_missing_remediation_type(findings_by_template):
    missing = sorted(NO_REMEDIATION_CONFIGURATION)
    expected = [
        ("E3006", f"Resource type '{REMEDIATION}' does not exist in '{region}'", path)
        for region in missing
        for path in [["Resources", "Remediation", "Type"]]
    ]
    assert findings_by_template == {
        "account.yaml": expected,
        "stackset.yaml": [],
        "conformance-pack.yaml": expected,
    }


def test_the_regions_without_the_remediation_type_are_cfn_lints():
    assert sorted(NO_REMEDIATION_CONFIGURATION) == sorted(
        region for region, types in regions_resource_types().items() if REMEDIATION not in types
    )


def test_every_region_named_as_without_iam_recording_is_a_known_region():
    assert set(REGIONS) >= NO_IAM_RECORDING


@pytest.mark.parametrize("region", REGIONS)
def test_a_region_is_refused_exactly_when_the_rule_cannot_run_there(region):
    cannot_run = region in NO_REMEDIATION_CONFIGURATION or region in NO_IAM_RECORDING
    assert (region_refusal(region) is not None) is cannot_run


def test_the_regions_the_guide_names_as_refused_are_exactly_those_refused():
    # The "cannot run" paragraph names every refused region, then ("Of these, ...")
    # those that also lack the remediation configuration.
    (paragraph,) = [
        text
        for text in " ".join(doc_tables.section("deployment", "Regions").split()).split("- ")
        if "**cannot run**" in text
    ]
    refused, _, no_remediation = paragraph.partition("Of these,")
    no_remediation = no_remediation.split(" also lack ", 1)[0]

    assert set(doc_tables.code_names(refused)) == NO_IAM_RECORDING | NO_REMEDIATION_CONFIGURATION
    assert set(doc_tables.code_names(no_remediation)) == NO_REMEDIATION_CONFIGURATION
