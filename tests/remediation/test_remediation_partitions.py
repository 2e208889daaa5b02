"""One list of AWS partitions for every ARN the project accepts, checked against botocore's.

The rule's ``ExemptPolicyArns`` parser, the helper's payload parser and the SSM
document's ``allowedPattern`` all accept exactly ``compliance.PARTITIONS``.
"""

from __future__ import annotations

import re

import pytest
from botocore.loaders import create_loader
from ssm_document import load_document

from no_direct_policies.compliance import PARTITION_PATTERN, PARTITIONS, parse_policy_arns
from no_direct_policies.move.plan import RemediationRefused
from no_direct_policies.move.request import parse_payload

ARN_PARAMETERS = {
    "AutomationAssumeRole": "arn:{}:iam::123456789012:role/Automation",
    "ExemptPolicyArns": "arn:{}:iam::aws:policy/IAMUserChangePassword",
}
NOT_PARTITIONS = ("aws-mars", "aws-iso-z", "awscn", "aws-", "aws-cn-x")
PARAMETERS = load_document()["parameters"]


def test_the_partition_list_is_botocores():
    botocore_ids = {p["id"] for p in create_loader().load_data("partitions")["partitions"]}

    assert set(PARTITIONS) == botocore_ids
    assert len(PARTITIONS) == len(botocore_ids)


@pytest.mark.parametrize("parameter", ARN_PARAMETERS)
def test_document_arn_patterns_are_built_from_the_partition_list(parameter):
    pattern = PARAMETERS[parameter]["allowedPattern"]

    assert f"arn:{PARTITION_PATTERN}:" in pattern
    assert "[a-z-]*" not in pattern  # no wildcard partition beside the list


@pytest.mark.parametrize("parameter", ARN_PARAMETERS)
def test_document_accepts_exactly_the_listed_partitions(parameter):
    pattern = PARAMETERS[parameter]["allowedPattern"]
    arn = ARN_PARAMETERS[parameter]

    assert [p for p in PARTITIONS if not re.search(pattern, arn.format(p))] == []
    assert [p for p in NOT_PARTITIONS if re.search(pattern, arn.format(p))] == []


@pytest.mark.parametrize("partition", PARTITIONS)
def test_rule_parameter_and_helper_payload_accept_every_partition(partition):
    arn = ARN_PARAMETERS["ExemptPolicyArns"].format(partition)

    assert parse_policy_arns(arn) == {arn}
    assert parse_payload(
        {"UserName": "John", "ExemptPolicyArns": arn}
    ).options.exempt_policy_arns == {arn}


@pytest.mark.parametrize("partition", NOT_PARTITIONS)
def test_rule_parameter_and_helper_payload_refuse_other_partitions(partition):
    arn = ARN_PARAMETERS["ExemptPolicyArns"].format(partition)

    with pytest.raises(ValueError, match=re.escape(arn)):
        parse_policy_arns(arn)
    with pytest.raises(RemediationRefused, match=re.escape(arn)):
        parse_payload({"UserName": "John", "ExemptPolicyArns": arn})
