"""The helper's payload: every accepted form and every rejected value with its message."""

from __future__ import annotations

import json

import pytest
from remediation_helpers import CHANGE_PASSWORD, S3_FULL

from no_direct_policies.move import request as move_request
from no_direct_policies.move.plan import MoveOptions
from no_direct_policies.move.request import (
    MoveRequest,
    RemediationRefused,
    lambda_handler,
    parse_payload,
)

USER_ID = "AIDAABCDEFGHIJKLMNOPQ"


def test_minimal_payload_uses_the_documented_defaults():
    assert parse_payload({"IAMResourceId": USER_ID}) == MoveRequest(
        user_id=USER_ID,
        user_name=None,
        options=MoveOptions(
            group_path="/config-remediation/",
            group_name_prefix="MovedPolicies-",
            exempt_policy_arns=frozenset(),
            move_inline_policies=False,
        ),
        dry_run=False,
    )


def test_full_payload_as_the_ssm_document_sends_it():
    request = parse_payload(
        {
            "UserName": "john",
            "DryRun": "TRUE",
            "GroupPath": "/team/remediated/",
            "GroupNamePrefix": "Team-",
            "ExemptPolicyArns": f"{CHANGE_PASSWORD}, {S3_FULL}",
            "MoveInlinePolicies": True,
        }
    )

    assert request == MoveRequest(
        user_id=None,
        user_name="john",
        options=MoveOptions(
            group_path="/team/remediated/",
            group_name_prefix="Team-",
            exempt_policy_arns=frozenset({CHANGE_PASSWORD, S3_FULL}),
            move_inline_policies=True,
        ),
        dry_run=True,
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([USER_ID], "The payload is list; expected a JSON object"),
        ({}, "Give exactly one of IAMResourceId"),
        ({"IAMResourceId": USER_ID, "UserName": "john"}, "Give exactly one of IAMResourceId"),
        ({"IAMResourceId": "john"}, "IAMResourceId is 'john'; expected an IAM user ID"),
        ({"UserName": "john doe"}, "UserName is 'john doe'; expected an IAM user name"),
        ({"UserName": "j", "DryRun": "yes"}, "DryRun is 'yes'; expected true or false"),
        ({"UserName": "j", "MoveInlinePolicies": 1}, "MoveInlinePolicies is 1; expected true"),
        ({"UserName": "j", "GroupPath": "team"}, "GroupPath is 'team'; expected an IAM path"),
        ({"UserName": "j", "GroupNamePrefix": "a b"}, "GroupNamePrefix is 'a b'; expected 1-64"),
        ({"UserName": "j", "ExemptPolicyArns": "S3"}, "ExemptPolicyArns"),
        ({"UserName": "j", "ExemptPolicyArns": ["x"]}, "ExemptPolicyArns is \\['x'\\]"),
        ({"UserName": "j", "Dryrun": True}, "Unknown payload key\\(s\\) Dryrun; allowed"),
    ],
    ids=[
        "not-an-object",
        "no-user",
        "both-user-keys",
        "bad-user-id",
        "bad-user-name",
        "bad-dry-run",
        "non-boolean-flag",
        "bad-path",
        "bad-prefix",
        "bad-exempt-arn",
        "exempt-not-a-string",
        "misspelt-key",
    ],
)
def test_bad_payload_is_refused_with_a_message_naming_the_value_and_the_fix(payload, message):
    with pytest.raises(RemediationRefused, match=message):
        parse_payload(payload)


def test_handler_returns_a_json_serialisable_result_with_exactly_the_contract_keys(iam, make_user):
    make_user("john", [S3_FULL])

    result = lambda_handler({"UserName": "john", "DryRun": "true"}, None)

    assert json.loads(json.dumps(result)) == result
    assert list(result) == ["UserName", "UserId", "Status", "Groups", "MovedPolicyArns", "Actions"]
    assert result["Status"] == "PLANNED"


def test_handler_refuses_a_bad_payload_before_creating_an_iam_client(monkeypatch):
    clients: list[str] = []
    monkeypatch.setattr(move_request, "new_iam_client", lambda: clients.append("iam") or None)

    with pytest.raises(RemediationRefused, match="Give exactly one of IAMResourceId"):
        lambda_handler({"DryRun": True}, None)

    assert clients == []
