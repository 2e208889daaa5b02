"""A stand-in for the AWS Config APIs the rule and the helper call that moto does not serve.

The rule's real handler (through rdklib) calls ``PutEvaluations`` after every
evaluation and, on a scheduled run, ``GetComplianceDetailsByConfigRule`` to
find users that disappeared. moto accepts the first only in test mode and
lacks the second, so the demo answers both here, validating requests the way
Config does (1-100 evaluations, accepted compliance types, annotations of at
most 256 characters) and keeping the latest evaluation of each resource: the
rule's compliance view on the Config dashboard.

The helper finds a user's name from its ID with ``ListDiscoveredResources``;
moto records no ``AWS::IAM::User``, so that resource type is answered here
from the simulated account's IAM users (as a recorder that is up to date
would), and every other resource type is left to moto.

It hooks into a boto3 session's event system (``before-call``), so the
handler's own boto3 clients reach it without any change to the rule's code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from moto.iam.models import iam_backends

from no_direct_policies.simulation.account import ACCOUNT_ID

ACCEPTED_COMPLIANCE_TYPES = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")
MAX_EVALUATIONS_PER_CALL = 100
ANNOTATION_LIMIT = 256
IAM_USER = "AWS::IAM::User"
MAX_RESOURCE_IDS = 20
DISCOVERED_PAGE_SIZE = 100
_PARAMS_KEY = "config_service_api_params"
_EVENT = "config-service"


@dataclass(frozen=True)
class RecordedEvaluation:
    """The latest evaluation of one resource, as the dashboard lists it."""

    resource_type: str
    resource_id: str
    compliance_type: str
    annotation: str
    ordering_timestamp: datetime


class ConfigService:
    """Records the rule's evaluations and answers compliance queries about them."""

    def __init__(self, rule_name: str) -> None:
        self.rule_name = rule_name
        self.evaluations: dict[tuple[str, str], RecordedEvaluation] = {}
        self.calls: list[str] = []

    @contextmanager
    def serving(self, session: boto3.Session | None = None) -> Iterator[ConfigService]:
        """Answer Config calls of clients created from ``session`` (default: boto3's own)."""
        if session is None:
            session = (
                boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
            )
        events = session.events
        handlers = [
            (f"before-parameter-build.{_EVENT}", _keep_api_params),
            (f"before-call.{_EVENT}.PutEvaluations", self._put_evaluations),
            (
                f"before-call.{_EVENT}.GetComplianceDetailsByConfigRule",
                self._get_compliance_details,
            ),
            (
                f"before-call.{_EVENT}.ListDiscoveredResources",
                self._list_discovered_resources,
            ),
        ]
        for name, handler in handlers:
            events.register(name, handler)
        try:
            yield self
        finally:
            for name, handler in handlers:
                events.unregister(name, handler)

    def latest(self) -> list[RecordedEvaluation]:
        """The latest evaluation of every resource, in the order they were first evaluated."""
        return list(self.evaluations.values())

    def _put_evaluations(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict]:
        self.calls.append("PutEvaluations")
        params = context[_PARAMS_KEY]
        evaluations = params.get("Evaluations") or []
        problem = _evaluations_problem(evaluations, params.get("ResultToken"))
        if problem:
            return _error(problem)
        for evaluation in evaluations:
            key = (evaluation["ComplianceResourceType"], evaluation["ComplianceResourceId"])
            timestamp = evaluation["OrderingTimestamp"]
            if isinstance(timestamp, str):
                timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
            recorded = RecordedEvaluation(
                resource_type=key[0],
                resource_id=key[1],
                compliance_type=evaluation["ComplianceType"],
                annotation=evaluation.get("Annotation", ""),
                ordering_timestamp=timestamp,
            )
            previous = self.evaluations.get(key)
            # Config keeps the evaluation with the newest ordering timestamp.
            if previous is None or previous.ordering_timestamp <= recorded.ordering_timestamp:
                self.evaluations[key] = recorded
        return _ok({"FailedEvaluations": []})

    def _get_compliance_details(
        self, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict]:
        self.calls.append("GetComplianceDetailsByConfigRule")
        params = context[_PARAMS_KEY]
        if params["ConfigRuleName"] != self.rule_name:
            return _error(f"No rule named {params['ConfigRuleName']}", "NoSuchConfigRuleException")
        wanted = set(params.get("ComplianceTypes") or ACCEPTED_COMPLIANCE_TYPES)
        matching = [item for item in self.latest() if item.compliance_type in wanted]
        start = int(params.get("NextToken") or 0)
        limit = params.get("Limit") or MAX_EVALUATIONS_PER_CALL
        page = matching[start : start + limit]
        response: dict[str, Any] = {"EvaluationResults": [self._result(item) for item in page]}
        if start + limit < len(matching):
            response["NextToken"] = str(start + limit)
        return _ok(response)

    def _list_discovered_resources(
        self, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict] | None:
        params = context[_PARAMS_KEY]
        if params["resourceType"] != IAM_USER:
            return None  # moto answers the resource types it records
        self.calls.append("ListDiscoveredResources")
        ids, name = params.get("resourceIds"), params.get("resourceName")
        if ids and name:
            return _error(
                "Both Resource ID and Resource Name cannot be specified in the request",
                "ValidationException",
            )
        if ids and len(ids) > MAX_RESOURCE_IDS:
            return _error(f"At most {MAX_RESOURCE_IDS} resource IDs", "ValidationException")
        users = sorted(iam_backends[ACCOUNT_ID]["aws"].users.values(), key=lambda u: u.name)
        matching = [
            {"resourceType": IAM_USER, "resourceId": user.id, "resourceName": user.name}
            for user in users
            if (not ids or user.id in ids) and (not name or user.name == name)
        ]
        start = int(params.get("nextToken") or 0)
        limit = params.get("limit") or DISCOVERED_PAGE_SIZE
        response: dict[str, Any] = {"resourceIdentifiers": matching[start : start + limit]}
        if start + limit < len(matching):
            response["nextToken"] = str(start + limit)
        return _ok(response)

    def _result(self, item: RecordedEvaluation) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "EvaluationResultIdentifier": {
                "EvaluationResultQualifier": {
                    "ConfigRuleName": self.rule_name,
                    "ResourceType": item.resource_type,
                    "ResourceId": item.resource_id,
                },
                "OrderingTimestamp": item.ordering_timestamp,
            },
            "ComplianceType": item.compliance_type,
            "ResultRecordedTime": now,
            "ConfigRuleInvokedTime": now,
            "Annotation": item.annotation,
        }


def _keep_api_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Keep the caller's parameters: ``before-call`` only sees the serialised request."""
    context[_PARAMS_KEY] = dict(params)


def _evaluations_problem(evaluations: list[dict[str, Any]], token: str | None) -> str | None:
    if not token:
        return "ResultToken is required"
    if not 1 <= len(evaluations) <= MAX_EVALUATIONS_PER_CALL:
        return f"PutEvaluations takes 1 to 100 evaluations, got {len(evaluations)}"
    for evaluation in evaluations:
        if evaluation.get("ComplianceType") not in ACCEPTED_COMPLIANCE_TYPES:
            return f"ComplianceType {evaluation.get('ComplianceType')!r} is not accepted"
        if len(evaluation.get("Annotation", "")) > ANNOTATION_LIMIT:
            return f"Annotation longer than {ANNOTATION_LIMIT} characters"
        if not evaluation.get("ComplianceResourceId") or "OrderingTimestamp" not in evaluation:
            return "ComplianceResourceId and OrderingTimestamp are required"
    return None


def _ok(body: dict[str, Any]) -> tuple[AWSResponse, dict]:
    return AWSResponse("https://config.invalid/", 200, {}, None), {
        **body,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


def _error(message: str, code: str = "InvalidParameterValueException") -> tuple[AWSResponse, dict]:
    return AWSResponse("https://config.invalid/", 400, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
