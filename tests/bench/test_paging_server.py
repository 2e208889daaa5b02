"""The benchmark's server pages ListUsers and GetAccountAuthorizationDetails as IAM does and
counts requests by action."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from .paging_server import ROOT, PagingServer


@pytest.fixture(scope="module")
def server() -> Iterator[PagingServer]:
    with PagingServer() as running:
        running.seed(
            {
                "policies": ["reader"],
                "users": [
                    {"name": f"user-{n}", "id": f"AIDA{n:017d}", "policies": ["reader"]}
                    for n in range(5)
                ],
            }
        )
        yield running


def _client(server: PagingServer, service: str):
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_list_users_pages_with_max_items_and_marker(server):
    iam = _client(server, "iam")
    server.reset_counts()

    first = iam.list_users(MaxItems=2)
    second = iam.list_users(MaxItems=2, Marker=first["Marker"])
    third = iam.list_users(MaxItems=2, Marker=second["Marker"])

    pages = [first, second, third]
    assert [len(page["Users"]) for page in pages] == [2, 2, 1]
    assert [page["IsTruncated"] for page in pages] == [True, True, False]
    assert "Marker" not in third
    assert [user["UserName"] for page in pages for user in page["Users"]] == [
        f"user-{n}" for n in range(5)
    ]
    assert first["Users"][0]["UserId"] == "AIDA00000000000000000"
    assert server.counts() == {"iam:ListUsers": 3}


def test_authorization_details_page_and_paginator_counts(server):
    iam = _client(server, "iam")
    server.reset_counts()

    pages = list(
        iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["User"], PaginationConfig={"PageSize": 2}
        )
    )
    default = iam.list_users()

    assert [len(page["UserDetailList"]) for page in pages] == [2, 2, 1]
    assert pages[0]["UserDetailList"][0]["AttachedManagedPolicies"][0]["PolicyName"] == "reader"
    assert len(default["Users"]) == 5
    assert server.counts() == {"iam:GetAccountAuthorizationDetails": 3, "iam:ListUsers": 1}


def test_max_items_above_1000_is_refused_as_iam_does(server):
    with pytest.raises(ClientError, match="less than or equal to 1000"):
        _client(server, "iam").list_users(MaxItems=1001)


def test_config_requests_are_counted_and_earlier_evaluations_served(server):
    config = _client(server, "config")
    server.reset_counts()
    evaluations = [
        {
            "ComplianceResourceType": "AWS::IAM::User",
            "ComplianceResourceId": f"AIDA{n:017d}",
            "ComplianceType": "COMPLIANT",
            "OrderingTimestamp": "2026-01-01T00:00:00Z",
        }
        for n in range(3)
    ]

    config.put_evaluations(Evaluations=evaluations, ResultToken="TESTMODE", TestMode=True)
    first = config.get_compliance_details_by_config_rule(ConfigRuleName="rule", Limit=2)
    second = config.get_compliance_details_by_config_rule(
        ConfigRuleName="rule", Limit=2, NextToken=first["NextToken"]
    )

    assert len(first["EvaluationResults"]) == 2
    assert len(second["EvaluationResults"]) == 1
    assert "NextToken" not in second
    assert server.counts() == {
        "config:PutEvaluations": 1,
        "config:GetComplianceDetailsByConfigRule": 2,
    }


def test_the_benchmark_process_does_not_load_moto():
    # A child inherits its parent's peak RSS on Linux (ru_maxrss survives execve), so the
    # clients' figures are their own only while the benchmark process stays small.
    code = "import sys, tests.bench.run; print(sorted(m for m in sys.modules if m == 'moto'))"
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
