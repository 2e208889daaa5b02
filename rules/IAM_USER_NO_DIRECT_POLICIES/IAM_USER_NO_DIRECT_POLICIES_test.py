"""Scenario tests of the rule in RDK's shape: ``rdk test-local IAM_USER_NO_DIRECT_POLICIES``.

RDK puts this folder on ``sys.path`` and loads this module with unittest; pytest
collects it too. Each test sends a recorded Config change event (tests/events/)
to ``lambda_handler`` with ``resultToken`` TESTMODE; rdklib's Config client is a
botocore Stubber that answers PutEvaluations, and no IAM client may be built:
a change is decided from the configuration item alone. The numbers are the
scenarios of the rule's docstring; tests/rule/ covers every one end to end.
"""

from __future__ import annotations

import json
import os
import unittest
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import IAM_USER_NO_DIRECT_POLICIES as rule
from botocore.stub import ANY, Stubber
from rdklib import ClientFactory

EVENTS = Path(__file__).resolve().parents[2] / "tests" / "events"
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
TWO_POLICIES = (
    "2 managed policies attached directly: AmazonS3FullAccess, ReadOnlyAccess. "
    "Attach them to a group and add the user to it."
)


class ChangeEventTest(unittest.TestCase):
    """One change event through the handler, PutEvaluations answered by a stub."""

    def setUp(self) -> None:
        environment = mock.patch.dict(os.environ, ENVIRONMENT)
        environment.start()
        self.addCleanup(environment.stop)
        self.config = Stubber(boto3.client("config"))
        self.config.activate()
        self.addCleanup(self.config.deactivate)
        self.built: list[str] = []
        factory = mock.patch.object(ClientFactory, "build_client", self._build_client)
        factory.start()
        self.addCleanup(factory.stop)

    def _build_client(self, service: str, *_: Any, **__: Any) -> Any:
        self.built.append(service)
        if service != "config":
            raise AssertionError(f"a change event must not need a {service} client")
        return self.config.client

    def evaluate(self, event_name: str) -> dict[str, Any]:
        """The one evaluation the handler puts for the event (in test mode)."""
        event = json.loads((EVENTS / f"{event_name}.json").read_text(encoding="utf-8"))
        self.config.add_response(
            "put_evaluations",
            {"FailedEvaluations": []},
            {"Evaluations": ANY, "ResultToken": "TESTMODE", "TestMode": True},
        )
        (evaluation,) = rule.lambda_handler(event, None)
        self.config.assert_no_pending_responses()
        self.assertEqual(self.built, ["config"])
        return evaluation

    def assert_evaluation(self, event_name: str, compliance: str, annotation: str = "") -> None:
        evaluation = self.evaluate(event_name)
        self.assertEqual(evaluation["ComplianceType"], compliance)
        self.assertEqual(evaluation["ComplianceResourceType"], "AWS::IAM::User")
        self.assertTrue(evaluation.get("Annotation", "").startswith(annotation), evaluation)

    def test_scenario_1_attached_managed_policies_are_named(self) -> None:
        self.assert_evaluation("change_user_managed_policies", "NON_COMPLIANT", TWO_POLICIES)

    def test_scenario_2_one_policy_gets_a_singular_annotation(self) -> None:
        self.assert_evaluation(
            "change_user_one_managed_policy", "NON_COMPLIANT", "1 managed policy attached"
        )

    def test_scenario_3_user_without_attached_policies_is_compliant(self) -> None:
        self.assert_evaluation("change_user_no_policies", "COMPLIANT")

    def test_scenario_4_null_lists_count_as_empty(self) -> None:
        self.assert_evaluation("change_user_null_lists", "COMPLIANT")

    def test_scenario_4_missing_lists_count_as_empty(self) -> None:
        self.assert_evaluation("change_user_missing_lists", "COMPLIANT")

    def test_scenario_5_long_annotation_is_cut(self) -> None:
        evaluation = self.evaluate("change_user_many_policies")
        self.assertEqual(evaluation["ComplianceType"], "NON_COMPLIANT")
        self.assertLessEqual(len(evaluation["Annotation"]), 256)

    def test_scenario_6_user_listed_in_exempt_user_names_is_not_applicable(self) -> None:
        self.assert_evaluation("change_user_exempt_name", "NOT_APPLICABLE")

    def test_scenario_7_user_under_exempt_path_prefix_is_not_applicable(self) -> None:
        self.assert_evaluation("change_user_exempt_path", "NOT_APPLICABLE")

    def test_scenario_8_exempt_policy_alone_is_compliant(self) -> None:
        self.assert_evaluation("change_user_exempt_policy_only", "COMPLIANT")

    def test_scenario_8_exempt_policy_is_not_named_beside_another(self) -> None:
        evaluation = self.evaluate("change_user_exempt_and_other_policy")
        self.assertEqual(evaluation["ComplianceType"], "NON_COMPLIANT")
        self.assertNotIn("IAMUserChangePassword", evaluation["Annotation"])

    def test_scenario_9_inline_policies_pass_when_not_checked(self) -> None:
        self.assert_evaluation("change_user_inline_unchecked", "COMPLIANT")

    def test_scenario_10_inline_policies_are_named_when_checked(self) -> None:
        self.assert_evaluation("change_user_inline_checked", "NON_COMPLIANT")

    def test_scenario_13_deleted_user_is_not_applicable(self) -> None:
        self.assert_evaluation("change_user_deleted", "NOT_APPLICABLE")

    def test_scenario_13_user_that_left_scope_is_not_applicable(self) -> None:
        self.assert_evaluation("change_user_left_scope", "NOT_APPLICABLE")

    def test_scenario_14_missing_event_left_scope_means_in_scope(self) -> None:
        evaluation = self.evaluate("change_user_without_event_left_scope")
        self.assertNotEqual(evaluation["ComplianceType"], "NOT_APPLICABLE")

    def test_scenario_26_user_with_an_exempt_tag_is_not_applicable(self) -> None:
        self.assert_evaluation(
            "change_user_exempt_tag",
            "NOT_APPLICABLE",
            "User deploy-bot is exempt: its tag ManagedBy=terraform matches",
        )


if __name__ == "__main__":
    unittest.main()
