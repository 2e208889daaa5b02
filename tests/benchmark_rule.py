"""Measure the rule's API calls and run time (``make benchmark``; not a pytest module).

The periodic sweep runs through ``lambda_handler`` against counting stand-ins for IAM
and Config that behave like the real APIs where it matters here: IAM serves
GetAccountAuthorizationDetails pages of at most MaxItems users with a Marker, and
Config returns the rule's earlier results 100 at a time. 5,000 users is IAM's
default per-account quota. The change-triggered path is timed per event.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name
from botocore.awsrequest import AWSResponse

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AWS_REGION", "us-east-1")

from rdklib import ClientFactory  # noqa: E402

from no_direct_policies.simulation.lambda_entries import rule_entry  # noqa: E402

lambda_handler = rule_entry().lambda_handler

EVENTS = ROOT / "tests" / "events"
READ_ONLY = {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}


class CountingIam:
    """GetAccountAuthorizationDetails over ``count`` users, paged as IAM pages it."""

    def __init__(self, count: int, calls: Counter[str]) -> None:
        self.users = [
            {
                "UserName": f"user-{n}",
                "UserId": f"AIDA{n:017d}",
                "Path": "/",
                "AttachedManagedPolicies": [READ_ONLY] if n % 3 == 0 else [],
                "UserPolicyList": [],
            }
            for n in range(count)
        ]
        self.calls = calls

    def get_account_authorization_details(self, **request: Any) -> dict[str, Any]:
        self.calls["iam:GetAccountAuthorizationDetails"] += 1
        if request["Filter"] != ["User"] or not 1 <= request["MaxItems"] <= 1000:
            raise AssertionError(f"unexpected request {request}")
        start = int(request.get("Marker", 0))
        end = start + request["MaxItems"]
        page = {"UserDetailList": self.users[start:end], "IsTruncated": end < len(self.users)}
        if page["IsTruncated"]:
            page["Marker"] = str(end)
        return page


class CountingConfig:
    """Config's side of a run: earlier results (all users) and PutEvaluations."""

    def __init__(self, previous_ids: list[str], calls: Counter[str]) -> None:
        self.previous_ids = previous_ids
        self.calls = calls

    def get_compliance_details_by_config_rule(self, **request: Any) -> dict[str, Any]:
        self.calls["config:GetComplianceDetailsByConfigRule"] += 1
        start = int(request["NextToken"] or 0)
        ids = self.previous_ids[start : start + request["Limit"]]
        response: dict[str, Any] = {
            "EvaluationResults": [
                {
                    "EvaluationResultIdentifier": {
                        "EvaluationResultQualifier": {
                            "ResourceId": resource_id,
                            "ResourceType": "AWS::IAM::User",
                        }
                    }
                }
                for resource_id in ids
            ]
        }
        if start + request["Limit"] < len(self.previous_ids):
            response["NextToken"] = str(start + request["Limit"])
        return response

    def put_evaluations(self, **request: Any) -> dict[str, Any]:
        self.calls["config:PutEvaluations"] += 1
        if not 1 <= len(request["Evaluations"]) <= 100:
            raise AssertionError(f"{len(request['Evaluations'])} evaluations in one call")
        return {"FailedEvaluations": []}


def config_client(stand_in: CountingConfig) -> Any:
    """A real boto3 Config client whose calls ``stand_in`` answers (botocore's before-call
    hook), so the rule's checks of Config's answers run as they do in Lambda."""
    client = boto3.client(
        "config", region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="-"
    )

    def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = params

    def answer(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict]:
        response = getattr(stand_in, xform_name(model.name))(**context["api_params"])
        return AWSResponse("https://config.invalid", 200, {}, None), response

    client.meta.events.register("before-parameter-build.config-service", keep_params)
    client.meta.events.register("before-call.config-service", answer)
    return client


def use_clients(iam: Any, config: CountingConfig) -> None:
    clients = {"iam": iam, "config": config_client(config)}
    ClientFactory.build_client = lambda self, service, *args, **kwargs: clients[service]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def sweep(users: int) -> None:
    calls: Counter[str] = Counter()
    iam = CountingIam(users, calls)
    use_clients(iam, CountingConfig([user["UserId"] for user in iam.users], calls))
    started = time.perf_counter()
    result = lambda_handler(load_event("scheduled"), None)
    elapsed = time.perf_counter() - started
    figures = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    print(f"  {users:>5} users: {len(result)} evaluations in {elapsed:.2f} s; {figures}")


def change_events(runs: int) -> None:
    calls: Counter[str] = Counter()
    use_clients(None, CountingConfig([], calls))
    event = load_event("change_user_managed_policies")
    started = time.perf_counter()
    for _ in range(runs):
        lambda_handler(event, None)
    per_event = (time.perf_counter() - started) / runs * 1000
    print(
        f"  {runs} change events: {per_event:.3f} ms each; "
        f"config:PutEvaluations {calls['config:PutEvaluations']}, IAM calls 0"
    )


def main() -> None:
    print("Rule IAM_USER_NO_DIRECT_POLICIES, periodic sweep (every user evaluated before):")
    for users in (1, 1000, 1001, 5000):
        sweep(users)
    print("Rule IAM_USER_NO_DIRECT_POLICIES, change-triggered:")
    change_events(1000)


if __name__ == "__main__":
    main()
