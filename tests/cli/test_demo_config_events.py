"""The demo's Config events have the exact shape Config sends, built from live IAM data."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import EC2_READ, S3_FULL

from no_direct_policies.compliance import UserPolicies
from no_direct_policies.simulation import config_events

EVENTS = Path(__file__).resolve().parent.parent / "events"
CAPTURED = datetime(2026, 11, 20, 9, 15, 42, 123000, tzinfo=UTC)
DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}


def _recorded(name: str) -> tuple[dict, dict]:
    event = json.loads((EVENTS / name).read_text())
    return event, json.loads(event["invokingEvent"])


@pytest.fixture
def detail(iam):
    """One GetAccountAuthorizationDetails user entry: two policies, a group, an inline policy."""
    iam.create_user(UserName="john", Path="/engineering/")
    iam.attach_user_policy(UserName="john", PolicyArn=S3_FULL)
    iam.attach_user_policy(UserName="john", PolicyArn=EC2_READ)
    iam.create_group(GroupName="developers")
    iam.add_user_to_group(GroupName="developers", UserName="john")
    iam.put_user_policy(UserName="john", PolicyName="s3-list", PolicyDocument=json.dumps(DOCUMENT))
    details = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
    return next(user for user in details if user["UserName"] == "john")


@pytest.fixture
def item(detail):
    return config_events.configuration_item(detail, account_id="123456789012", captured_at=CAPTURED)


def test_change_event_has_the_keys_of_a_recorded_config_event(item):
    event = config_events.change_event(
        item, region="us-east-1", rule_parameters={}, notified_at=CAPTURED
    )
    recorded, recorded_invoking = _recorded("change_user_managed_policies.json")

    invoking = json.loads(event["invokingEvent"])
    assert sorted(event) == sorted(recorded)
    assert sorted(invoking) == sorted(recorded_invoking)
    assert sorted(invoking["configurationItem"]) == sorted(recorded_invoking["configurationItem"])
    assert sorted(invoking["configurationItem"]["configuration"]) == sorted(
        recorded_invoking["configurationItem"]["configuration"]
    )
    assert invoking["messageType"] == "ConfigurationItemChangeNotification"
    assert event["resultToken"] == "TESTMODE"
    assert event["eventLeftScope"] is False


def test_rule_parameters_travel_as_a_json_string(item):
    event = config_events.change_event(
        item,
        region="us-east-1",
        rule_parameters={"ExemptUserNames": "breakglass"},
        notified_at=CAPTURED,
    )

    assert event["ruleParameters"] == '{"ExemptUserNames": "breakglass"}'


def test_configuration_item_identifies_the_user_by_its_id(item, detail):
    assert item["resourceType"] == "AWS::IAM::User"
    assert item["resourceId"] == detail["UserId"]
    assert item["resourceId"].startswith("AIDA")
    assert item["resourceName"] == "john"
    assert item["ARN"] == detail["Arn"]
    assert item["awsRegion"] == "global"
    assert item["configurationItemStatus"] == "OK"
    assert item["configurationItemCaptureTime"] == "2026-11-20T09:15:42.123Z"


def test_configuration_lists_policies_groups_and_url_encoded_inline_documents(item):
    configuration = item["configuration"]

    assert configuration["path"] == "/engineering/"
    assert sorted(configuration["attachedManagedPolicies"], key=lambda p: p["policyName"]) == [
        {"policyName": "AmazonEC2ReadOnlyAccess", "policyArn": EC2_READ},
        {"policyName": "AmazonS3FullAccess", "policyArn": S3_FULL},
    ]
    assert configuration["groupList"] == ["developers"]
    assert configuration["permissionsBoundary"] is None
    [inline] = configuration["userPolicyList"]
    assert inline["policyName"] == "s3-list"
    assert json.loads(urllib.parse.unquote(inline["policyDocument"])) == DOCUMENT


def test_rule_reads_the_item_as_it_reads_the_account_sweep(item, detail):
    assert UserPolicies.from_configuration_item(item) == UserPolicies.from_authorization_details(
        detail
    )


def test_permissions_boundary_is_recorded():
    # moto leaves PermissionsBoundary out of GetAccountAuthorizationDetails; IAM returns it so.
    detail = {
        "UserName": "bounded",
        "UserId": "AIDAEXAMPLEBOUNDED01",
        "Path": "/",
        "Arn": "arn:aws:iam::123456789012:user/bounded",
        "CreateDate": CAPTURED,
        "PermissionsBoundary": {
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": S3_FULL,
        },
    }

    item = config_events.configuration_item(detail, account_id="123456789012", captured_at=CAPTURED)

    assert item["configuration"]["permissionsBoundary"] == {
        "permissionsBoundaryType": "PermissionsBoundaryPolicy",
        "permissionsBoundaryArn": S3_FULL,
    }


def test_scheduled_event_has_the_keys_of_a_recorded_config_event():
    event = config_events.scheduled_event(
        account_id="123456789012", region="us-east-1", rule_parameters={}, notified_at=CAPTURED
    )
    recorded, recorded_invoking = _recorded("scheduled.json")

    assert sorted(event) == sorted(recorded)
    assert json.loads(event["invokingEvent"]) == {
        "awsAccountId": "123456789012",
        "notificationCreationTime": "2026-11-20T09:15:42.123Z",
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    }
    assert json.loads(event["invokingEvent"]).keys() == recorded_invoking.keys()
