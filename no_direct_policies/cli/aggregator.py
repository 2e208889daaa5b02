"""The Organization's verdicts as the deployed rule recorded them, from a Config aggregator.

``audit --aggregator NAME`` runs no rule: it reads what Config recorded, the
dashboard's view. DescribeAggregateComplianceByConfigRules lists the accounts
and regions where the rule runs; for each, GetAggregateComplianceDetailsByConfigRule
pages through the verdicts and ListAggregateDiscoveredResources names the users
(Config identifies an IAM user by its ID). One page is held at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from no_direct_policies.cli.errors import EXIT_USAGE, CommandError
from no_direct_policies.findings.model import COMPLIANCE_TYPES, Finding

RESOURCE_TYPE = "AWS::IAM::User"


def rule_locations(config: Any, aggregator: str, rule_name: str) -> list[tuple[str, str]]:
    """(account, region) pairs where the aggregator sees the rule, sorted."""
    locations = set()
    paginator = config.get_paginator("describe_aggregate_compliance_by_config_rules")
    pages = paginator.paginate(
        ConfigurationAggregatorName=aggregator, Filters={"ConfigRuleName": rule_name}
    )
    for page in pages:
        for entry in page.get("AggregateComplianceByConfigRules") or ():
            if entry.get("ConfigRuleName") == rule_name:
                locations.add((str(entry["AccountId"]), str(entry["AwsRegion"])))
    return sorted(locations)


def rule_names(config: Any, aggregator: str) -> list[str]:
    """The names of every rule the aggregator holds a compliance for, sorted."""
    names = set()
    paginator = config.get_paginator("describe_aggregate_compliance_by_config_rules")
    for page in paginator.paginate(ConfigurationAggregatorName=aggregator):
        for entry in page.get("AggregateComplianceByConfigRules") or ():
            if entry.get("ConfigRuleName"):
                names.add(str(entry["ConfigRuleName"]))
    return sorted(names)


def find_rule(
    config: Any, aggregator: str, rule_name: str, on_note: Callable[[str], None]
) -> tuple[str, list[tuple[str, str]]]:
    """The deployed rule's name and its (account, region) pairs.

    A conformance pack deploys the rule under a suffixed name
    (``IAM_USER_NO_DIRECT_POLICIES-conformance-pack-...``): when no rule is named
    ``rule_name`` exactly, the single one whose name starts with it is used (told
    through ``on_note``). None, or several: a usage error naming them.
    """
    locations = rule_locations(config, aggregator, rule_name)
    if locations:
        return rule_name, locations
    candidates = [name for name in rule_names(config, aggregator) if name.startswith(rule_name)]
    if len(candidates) == 1:
        on_note(
            f"audit: the aggregator {aggregator} has no rule named {rule_name}; "
            f"reading {candidates[0]} (pass --rule-name to choose)"
        )
        return candidates[0], rule_locations(config, aggregator, candidates[0])
    if candidates:
        raise CommandError(
            f"the aggregator {aggregator} has no rule named {rule_name} but "
            f"{len(candidates)} whose name starts with it: {', '.join(candidates)}; "
            "choose one with --rule-name",
            EXIT_USAGE,
        )
    raise CommandError(
        f"the aggregator {aggregator} has no rule named {rule_name}: check --rule-name "
        "(a conformance pack suffixes the name) and --aggregator",
        EXIT_USAGE,
    )


def _user_names(config: Any, aggregator: str, account_id: str, region: str) -> dict[str, str]:
    names: dict[str, str] = {}
    paginator = config.get_paginator("list_aggregate_discovered_resources")
    pages = paginator.paginate(
        ConfigurationAggregatorName=aggregator,
        ResourceType=RESOURCE_TYPE,
        Filters={"AccountId": account_id, "Region": region},
    )
    for page in pages:
        for resource in page.get("ResourceIdentifiers") or ():
            names[str(resource.get("ResourceId", ""))] = str(resource.get("ResourceName", ""))
    return names


def iter_findings(
    config: Any,
    aggregator: str,
    rule_name: str,
    on_location: Callable[[int, int], None] | None = None,
    locations: list[tuple[str, str]] | None = None,
) -> Iterator[Finding]:
    """Every IAM user verdict the aggregator holds for ``rule_name``.

    ``on_location(done, total)`` runs after each account and region; ``locations``
    (from ``find_rule``) saves listing them again.
    """
    if locations is None:
        locations = rule_locations(config, aggregator, rule_name)
    paginator = config.get_paginator("get_aggregate_compliance_details_by_config_rule")
    for done, (account_id, region) in enumerate(locations, start=1):
        names = _user_names(config, aggregator, account_id, region)
        pages = paginator.paginate(
            ConfigurationAggregatorName=aggregator,
            ConfigRuleName=rule_name,
            AccountId=account_id,
            AwsRegion=region,
        )
        for page in pages:
            for result in page.get("AggregateEvaluationResults") or ():
                qualifier = result["EvaluationResultIdentifier"]["EvaluationResultQualifier"]
                if qualifier.get("ResourceType", RESOURCE_TYPE) != RESOURCE_TYPE:
                    continue
                if result.get("ComplianceType") not in COMPLIANCE_TYPES:
                    continue  # INSUFFICIENT_DATA: no verdict to report
                user_id = str(qualifier.get("ResourceId", ""))
                yield Finding(
                    account_id=account_id,
                    region=region,
                    user_name=names.get(user_id, ""),
                    user_id=user_id,
                    arn="",
                    path="",
                    tags={},
                    attached_policy_arns=(),
                    inline_policy_names=(),
                    groups=(),
                    compliance_type=result["ComplianceType"],
                    annotation=str(result.get("Annotation", "")),
                    rule_name=rule_name,
                    evaluated_at=result["ResultRecordedTime"],
                )
        if on_location is not None:
            on_location(done, len(locations))
