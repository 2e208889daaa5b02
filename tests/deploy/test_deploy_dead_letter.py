"""Config invokes the rule's Lambda asynchronously: failed events land in an alarmed queue.

After Lambda's own two retries an asynchronous event is dropped unless the
function has a dead-letter queue; every template that deploys the rule's
Lambda gives it one, and an alarm as soon as one message is waiting.
"""

from __future__ import annotations

import pytest

from deploy import build


@pytest.fixture(params=["account.yaml", "stackset.yaml"])
def lambda_template(request, templates):
    """Each template that deploys the rule's Lambda."""
    return templates[request.param]


def test_the_rule_function_dead_letters_to_its_own_encrypted_queue(lambda_template):
    resources = lambda_template["Resources"]
    function = resources["RuleFunction"]["Properties"]
    assert function["DeadLetterConfig"] == {
        "TargetArn": {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}
    }
    queue = resources["RuleDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_one_waiting_message_raises_the_alarm(lambda_template):
    alarm = lambda_template["Resources"]["RuleDeadLetterAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["RuleDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == {
        "Fn::If": ["AlarmTopicSet", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
    }


def test_no_template_source_says_config_invokes_the_rule_synchronously():
    for source in build.TEMPLATES.glob("*.yaml"):
        text = " ".join(source.read_text().split())
        assert "Config invokes the rule synchronously" not in text, source.name
