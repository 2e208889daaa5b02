"""The demo's stand-in for Config records what the rule puts and validates it as Config does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from no_direct_policies.simulation.config_service import ConfigService

RULE = "IAM_USER_NO_DIRECT_POLICIES"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def evaluation(resource_id: str, compliance: str, at: datetime, annotation: str = "a") -> dict:
    return {
        "ComplianceResourceType": "AWS::IAM::User",
        "ComplianceResourceId": resource_id,
        "ComplianceType": compliance,
        "Annotation": annotation,
        "OrderingTimestamp": at,
    }


@pytest.fixture
def config(aws_account):
    """A Config client whose two compliance calls reach the stand-in."""
    service = ConfigService(RULE)
    with service.serving():
        yield service, boto3.client("config", region_name="us-east-1")


def test_keeps_the_newest_evaluation_of_each_resource(config):
    service, client = config

    client.put_evaluations(
        Evaluations=[
            evaluation("AIDAJOHN", "NON_COMPLIANT", T0 + timedelta(minutes=1)),
            evaluation("AIDAALICE", "COMPLIANT", T0),
        ],
        ResultToken="TESTMODE",
    )
    client.put_evaluations(
        Evaluations=[evaluation("AIDAJOHN", "COMPLIANT", T0)], ResultToken="TESTMODE"
    )  # older than what is recorded: ignored
    client.put_evaluations(
        Evaluations=[evaluation("AIDAALICE", "NOT_APPLICABLE", T0 + timedelta(minutes=2))],
        ResultToken="TESTMODE",
    )

    assert [(item.resource_id, item.compliance_type) for item in service.latest()] == [
        ("AIDAJOHN", "NON_COMPLIANT"),
        ("AIDAALICE", "NOT_APPLICABLE"),
    ]
    assert service.calls == ["PutEvaluations"] * 3


@pytest.mark.parametrize(
    ("evaluations", "message"),
    [
        ([], "PutEvaluations takes 1 to 100 evaluations, got 0"),
        (
            [evaluation(f"AIDA{index}", "COMPLIANT", T0) for index in range(101)],
            "PutEvaluations takes 1 to 100 evaluations, got 101",
        ),
        (
            [evaluation("AIDAJOHN", "INSUFFICIENT_DATA", T0)],
            "ComplianceType 'INSUFFICIENT_DATA' is not accepted",
        ),
        (
            [evaluation("AIDAJOHN", "COMPLIANT", T0, annotation="x" * 257)],
            "Annotation longer than 256 characters",
        ),
    ],
)
def test_rejects_what_config_rejects(config, evaluations, message):
    service, client = config

    with pytest.raises(ClientError) as raised:
        client.put_evaluations(Evaluations=evaluations, ResultToken="TESTMODE")

    assert raised.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": message,
    }
    assert service.latest() == []


def test_compliance_details_filter_by_type_and_paginate(config):
    _, client = config
    client.put_evaluations(
        Evaluations=[evaluation(f"AIDA{index:03d}", "COMPLIANT", T0) for index in range(3)]
        + [evaluation("AIDAEXEMPT", "NOT_APPLICABLE", T0)],
        ResultToken="TESTMODE",
    )

    first = client.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE, ComplianceTypes=["COMPLIANT", "NON_COMPLIANT"], Limit=2
    )
    second = client.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE,
        ComplianceTypes=["COMPLIANT", "NON_COMPLIANT"],
        Limit=2,
        NextToken=first["NextToken"],
    )

    def ids(page):
        return [
            result["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"]
            for result in page["EvaluationResults"]
        ]

    assert ids(first) == ["AIDA000", "AIDA001"]
    assert ids(second) == ["AIDA002"]
    assert "NextToken" not in second


def test_unknown_rule_is_an_error(config):
    _, client = config

    with pytest.raises(client.exceptions.NoSuchConfigRuleException):
        client.get_compliance_details_by_config_rule(ConfigRuleName="OTHER_RULE")


def test_stops_answering_after_the_block(aws_account):
    with ConfigService(RULE).serving():
        pass
    client = boto3.client("config", region_name="us-east-1")

    # moto itself answers again: it has no compliance API.
    with pytest.raises(NotImplementedError):
        client.get_compliance_details_by_config_rule(ConfigRuleName=RULE)
