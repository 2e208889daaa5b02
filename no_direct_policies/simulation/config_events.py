"""Build the events AWS Config sends to a custom Lambda rule, from IAM user data.

The demo runs the rule's real ``lambda_handler`` on these events, so they
follow Config's format exactly: the top-level keys of every rule invocation,
``invokingEvent`` and ``ruleParameters`` as JSON *strings*, and an
``AWS::IAM::User`` configuration item whose ``resourceId`` is the user's ID
(``AIDA...``) and whose ``resourceName`` is the user name.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

RULE_NAME = "IAM_USER_NO_DIRECT_POLICIES"
RULE_ID = "config-rule-0nodirectpol"
# Config invokes the rule with this token when the rule is run from the RDK or a test:
# PutEvaluations then validates the evaluations without recording them.
TEST_RESULT_TOKEN = "TESTMODE"  # noqa: S105 - a documented Config value, not a secret


def _iso(moment: datetime) -> str:
    """Config's timestamp format: ISO 8601 in UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def configuration_item(
    user_detail: Mapping[str, Any],
    *,
    account_id: str,
    captured_at: datetime,
    status: str = "OK",
) -> dict[str, Any]:
    """The ``AWS::IAM::User`` configuration item Config records for one user.

    ``user_detail`` is one ``UserDetailList`` entry of GetAccountAuthorizationDetails
    as boto3 returns it (inline policy documents already decoded to dicts).
    """
    created = user_detail["CreateDate"]
    created_text = _iso(created) if isinstance(created, datetime) else str(created)
    groups = list(user_detail.get("GroupList") or [])
    attached = [
        {"policyName": policy["PolicyName"], "policyArn": policy["PolicyArn"]}
        for policy in user_detail.get("AttachedManagedPolicies") or []
    ]
    boundary = user_detail.get("PermissionsBoundary")
    configuration = {
        "path": user_detail["Path"],
        "userName": user_detail["UserName"],
        "userId": user_detail["UserId"],
        "arn": user_detail["Arn"],
        "createDate": created_text,
        "userPolicyList": [
            {
                "policyName": policy["PolicyName"],
                # Config records inline policy documents URL-encoded, as IAM returns them.
                "policyDocument": urllib.parse.quote(_document_text(policy["PolicyDocument"])),
            }
            for policy in user_detail.get("UserPolicyList") or []
        ],
        "groupList": groups,
        "attachedManagedPolicies": attached,
        "permissionsBoundary": (
            {
                "permissionsBoundaryType": boundary["PermissionsBoundaryType"],
                "permissionsBoundaryArn": boundary["PermissionsBoundaryArn"],
            }
            if boundary
            else None
        ),
        "tags": [
            {"key": tag["Key"], "value": tag["Value"]} for tag in user_detail.get("Tags") or []
        ],
    }
    relationships = [
        {
            "resourceId": None,
            "resourceName": group,
            "resourceType": "AWS::IAM::Group",
            "name": "Is attached to Group",
        }
        for group in groups
    ] + [
        # Config records customer managed policies as resources; AWS-managed ones it does not.
        {
            "resourceId": None,
            "resourceName": policy["policyName"],
            "resourceType": "AWS::IAM::Policy",
            "name": "Is attached to CustomerManagedPolicy",
        }
        for policy in attached
        if not policy["policyArn"].startswith("arn:aws:iam::aws:policy/")
    ]
    return {
        "relatedEvents": [],
        "relationships": relationships,
        "configuration": configuration,
        "supplementaryConfiguration": {},
        "tags": {tag["Key"]: tag["Value"] for tag in user_detail.get("Tags") or []},
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": _iso(captured_at),
        "configurationStateId": int(captured_at.timestamp() * 1000),
        "awsAccountId": account_id,
        "configurationItemStatus": status,
        "resourceType": "AWS::IAM::User",
        "resourceId": user_detail["UserId"],
        "resourceName": user_detail["UserName"],
        "ARN": user_detail["Arn"],
        "awsRegion": "global",
        "availabilityZone": "Not Applicable",
        "configurationStateMd5Hash": "",
        "resourceCreationTime": created_text,
    }


def _document_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))


def _invocation(
    invoking_event: Mapping[str, Any],
    *,
    account_id: str,
    region: str,
    rule_parameters: Mapping[str, str],
    result_token: str,
    event_left_scope: bool,
) -> dict[str, Any]:
    """The top-level keys Config sends with every rule invocation."""
    return {
        "version": "1.0",
        "invokingEvent": json.dumps(invoking_event),
        "ruleParameters": json.dumps(dict(rule_parameters)),
        "resultToken": result_token,
        "eventLeftScope": event_left_scope,
        "executionRoleArn": (
            f"arn:aws:iam::{account_id}:role/aws-service-role/config.amazonaws.com/"
            "AWSServiceRoleForConfig"
        ),
        "configRuleArn": f"arn:aws:config:{region}:{account_id}:config-rule/{RULE_ID}",
        "configRuleName": RULE_NAME,
        "configRuleId": RULE_ID,
        "accountId": account_id,
    }


def change_event(
    item: Mapping[str, Any],
    *,
    region: str,
    rule_parameters: Mapping[str, str],
    notified_at: datetime,
    result_token: str = TEST_RESULT_TOKEN,
    event_left_scope: bool = False,
) -> dict[str, Any]:
    """A ``ConfigurationItemChangeNotification`` invocation for one configuration item."""
    invoking_event = {
        # The demo's events report updates; Config lists the changed properties here.
        "configurationItemDiff": {"changedProperties": {}, "changeType": "UPDATE"},
        "configurationItem": dict(item),
        "notificationCreationTime": _iso(notified_at),
        "messageType": "ConfigurationItemChangeNotification",
        "recordVersion": "1.3",
    }
    return _invocation(
        invoking_event,
        account_id=item["awsAccountId"],
        region=region,
        rule_parameters=rule_parameters,
        result_token=result_token,
        event_left_scope=event_left_scope,
    )


def scheduled_event(
    *,
    account_id: str,
    region: str,
    rule_parameters: Mapping[str, str],
    notified_at: datetime,
    result_token: str = TEST_RESULT_TOKEN,
) -> dict[str, Any]:
    """A ``ScheduledNotification`` invocation (the periodic sweep)."""
    invoking_event = {
        "awsAccountId": account_id,
        "notificationCreationTime": _iso(notified_at),
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }
    return _invocation(
        invoking_event,
        account_id=account_id,
        region=region,
        rule_parameters=rule_parameters,
        result_token=result_token,
        event_left_scope=False,
    )
