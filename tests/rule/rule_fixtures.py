"""Helpers for the rule's tests: Config events from tests/events/, the evaluations
rdklib puts, and the exact Config and IAM calls a Stubber should expect."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.stub import Stubber

from no_direct_policies.simulation.account import ACCOUNT_ID

EVENTS = Path(__file__).resolve().parents[1] / "events"
RULE_NAME = "IAM_USER_NO_DIRECT_POLICIES"
USER_TYPE = "AWS::IAM::User"
CAPTURE_TIME = "2026-11-20T09:15:42.123Z"  # configurationItemCaptureTime in the change events
SCHEDULED_TIME = "2026-11-20T10:00:00.000Z"  # notificationCreationTime in scheduled.json
MAX_ITEMS = 1000


def load_event(name: str, rule_parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Config event from tests/events/<name>.json, optionally with other rule parameters."""
    event = json.loads((EVENTS / f"{name}.json").read_text())
    if rule_parameters is not None:
        event["ruleParameters"] = json.dumps(rule_parameters)
    return event


def load_json(name: str) -> Any:
    """Any other fixture file of tests/events/."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def configuration_item(event: dict[str, Any]) -> dict[str, Any]:
    """The configuration item inside a change event's invokingEvent string."""
    return copy.deepcopy(json.loads(event["invokingEvent"])["configurationItem"])


def evaluation(
    resource_id: str,
    compliance_type: str,
    annotation: str = "",
    timestamp: Any = CAPTURE_TIME,
    resource_type: str = USER_TYPE,
) -> dict[str, Any]:
    """One evaluation as rdklib puts it (no Annotation key when there is none)."""
    result = {
        "ComplianceResourceId": resource_id,
        "ComplianceResourceType": resource_type,
        "ComplianceType": compliance_type,
        "OrderingTimestamp": timestamp,
    }
    if annotation:
        result["Annotation"] = annotation
    return result


def expect_put_evaluations(stubber: Stubber, evaluations: list[dict[str, Any]]) -> int:
    """Expect PutEvaluations in rdklib's batches of 100; returns how many calls that is."""
    batches = [evaluations[start : start + 100] for start in range(0, len(evaluations), 100)]
    for batch in batches:
        stubber.add_response(
            "put_evaluations",
            {"FailedEvaluations": []},
            {"Evaluations": batch, "ResultToken": "TESTMODE", "TestMode": True},
        )
    return len(batches)


def expect_previous_evaluations(stubber: Stubber, pages: list[list[str]]) -> None:
    """Expect rdklib's look-up of the rule's earlier results, one page per list of user IDs."""
    for number, user_ids in enumerate(pages):
        request = {
            "ConfigRuleName": RULE_NAME,
            "ComplianceTypes": ["COMPLIANT", "NON_COMPLIANT"],
            "Limit": 100,
            "NextToken": f"page-{number}" if number else "",
        }
        response: dict[str, Any] = {
            "EvaluationResults": [
                {
                    "EvaluationResultIdentifier": {
                        "EvaluationResultQualifier": {
                            "ConfigRuleName": RULE_NAME,
                            "ResourceType": USER_TYPE,
                            "ResourceId": user_id,
                        }
                    },
                    "ComplianceType": "NON_COMPLIANT",
                }
                for user_id in user_ids
            ]
        }
        if number + 1 < len(pages):
            response["NextToken"] = f"page-{number + 1}"
        stubber.add_response("get_compliance_details_by_config_rule", response, request)


def user_detail(number: int, attached: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A GetAccountAuthorizationDetails UserDetailList entry for a numbered user."""
    name = f"user-{number:05d}"
    return {
        "Path": "/",
        "UserName": name,
        "UserId": f"AIDA{number:017d}",
        "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}",
        "CreateDate": datetime(2026, 1, 5, tzinfo=UTC),
        "UserPolicyList": [],
        "GroupList": [],
        "AttachedManagedPolicies": attached or [],
        "Tags": [],
    }


def expect_authorization_pages(stubber: Stubber, users: list[dict[str, Any]]) -> int:
    """Expect the exact paginated GetAccountAuthorizationDetails calls for ``users``,
    MaxItems=1000 each, Marker from the previous page; returns the number of calls."""
    pages = [users[start : start + MAX_ITEMS] for start in range(0, len(users), MAX_ITEMS)]
    for number, page in enumerate(pages or [[]]):
        request: dict[str, Any] = {"Filter": ["User"], "MaxItems": MAX_ITEMS}
        if number:
            request["Marker"] = f"marker-{number}"
        response: dict[str, Any] = {
            "UserDetailList": page,
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
            "IsTruncated": number + 1 < len(pages),
        }
        if response["IsTruncated"]:
            response["Marker"] = f"marker-{number + 1}"
        stubber.add_response("get_account_authorization_details", response, request)
    return max(len(pages), 1)
