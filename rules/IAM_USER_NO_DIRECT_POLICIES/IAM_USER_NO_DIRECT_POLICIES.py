"""AWS Config rule IAM_USER_NO_DIRECT_POLICIES: IAM users get permissions only through groups.

CIS "IAM users receive permissions only through groups", Security Hub IAM.2.
The decision itself lives in ``no_direct_policies.compliance``; this module adapts it to
rdklib and makes rdklib's failures loud: ``no_direct_policies.rule_event`` checks the event
before rdklib reads it, ``no_direct_policies.evaluation_answers`` checks what Config answers.

Scenarios (each has a test named ``test_scenario_<n>_...`` in tests/rule/):

1.  Given a changed user with managed policies attached directly,
    Then NON_COMPLIANT, and the annotation names every policy and says what to do.
2.  Given a changed user with exactly one attached managed policy,
    Then NON_COMPLIANT with a singular annotation ("1 managed policy ... Attach it").
3.  Given a changed user without attached managed policies,
    Then COMPLIANT.
4.  Given a configuration item whose policy lists are null or missing,
    Then COMPLIANT (null and missing lists count as empty).
5.  Given more policy names than fit in 256 characters,
    Then the annotation is at most 256 characters and says how many names were cut.
6.  Given a user whose name is listed in ExemptUserNames,
    Then NOT_APPLICABLE, and the annotation names ExemptUserNames.
7.  Given a user whose path starts with a prefix in ExemptUserPathPrefixes,
    Then NOT_APPLICABLE, and the annotation names ExemptUserPathPrefixes.
8.  Given a user whose only attached policy is listed in ExemptPolicyArns,
    Then COMPLIANT, and the annotation says only exempt policies remain (without naming
    them); with another policy as well, NON_COMPLIANT naming only the other one.
9.  Given a user with inline policies only and CheckInlinePolicies false,
    Then COMPLIANT.
10. Given a user with inline policies and CheckInlinePolicies true,
    Then NON_COMPLIANT, and the annotation names the inline policies.
11. Given any configuration change notification,
    Then the verdict comes from the configuration item alone: no IAM client is built.
12. Given an oversized change notification,
    Then the item is fetched with GetResourceConfigHistory, evaluated, and the
    invocation returns JSON-serialisable evaluations.
13. Given a deleted user, a user that left the rule's scope, or another resource type,
    Then NOT_APPLICABLE without evaluating the item.
14. Given a change notification without the eventLeftScope key,
    Then the user is evaluated as in scope.
15. Given a scheduled notification,
    Then one GetAccountAuthorizationDetails(Filter=["User"], MaxItems=1000) page per
    1000 users, an evaluation for every user, and no per-user IAM call.
16. Given a scheduled notification and previously evaluated users that no longer exist,
    Then those users become NOT_APPLICABLE.
17. Given an invalid rule parameter,
    Then the invocation fails with a message naming the parameter and the value,
    and no evaluation is put.
18. Given an IAM or Config error (throttling, access denied),
    Then the invocation fails instead of reporting success.
19. Given rdklib's AssumeRoleMode / ExecutionRoleName parameters,
    Then they are accepted alongside the rule's own parameters.
20. Given an event not shaped as Config sends it (eventLeftScope "false", ruleParameters
    that is not a JSON object, a policy list that is not a list, no resultToken,
    AssumeRoleMode as a JSON boolean), Then the invocation fails with MalformedEvent
    naming the field and the value, before anything is evaluated or put.
21. Given an oversized notification whose resource has no configuration history,
    Then the invocation fails with MalformedEvent naming the resource.
22. Given PutEvaluations answers that return FailedEvaluations, or a 200 answer whose body
    is not JSON, Then every batch is still put and the invocation then fails with
    EvaluationsRejected naming how many evaluations Config did not accept, and why.
23. Given a configuration item whose configurationItemStatus is not one of Config's five
    (OK, ResourceDiscovered, ResourceNotRecorded, ResourceDeleted,
    ResourceDeletedNotRecorded), e.g. "ok" or "ResourceUpdated",
    Then the invocation fails with MalformedEvent naming configurationItemStatus,
    instead of the user silently becoming NOT_APPLICABLE.
24. Given a user's item without userName and resourceName, a userName that is not a
    non-empty string, a path that is neither a string nor null, or tags that are neither
    a map of strings nor a list of {key, value},
    Then the invocation fails with MalformedEvent naming the field and the value.
25. Given an oversized notification whose history item is deleted or not recorded and
    lacks configuration, relationships or supplementaryConfiguration,
    Then NOT_APPLICABLE; an item that is evaluated without them fails with
    MalformedEvent naming the missing part.
26. Given a changed user carrying a tag listed in ExemptUserTags (``key`` for any value,
    ``key=value`` for that value; keys regardless of case, values exactly),
    Then NOT_APPLICABLE, and the annotation names the tag and ExemptUserTags; a tag
    with another value does not exempt the user.
27. Given a scheduled notification and ExemptUserTags,
    Then users whose GetAccountAuthorizationDetails Tags match are NOT_APPLICABLE,
    with no IAM call beyond the sweep's.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from rdklib import ConfigRule, Evaluation, Evaluator, InvalidParametersError

from no_direct_policies.compliance import (
    RuleOptions,
    UserPolicies,
    decide,
    iter_account_users,
    parse_rule_parameters,
)
from no_direct_policies.evaluation_answers import watching_config_clients
from no_direct_policies.rule_event import check_event

RESOURCE_TYPE = "AWS::IAM::User"


class RuleInvocationError(RuntimeError):
    """rdklib reported an error as a return value; raised so the invocation fails and
    Config retries it instead of losing the evaluations."""


# rdklib names the class after the rule; rdklib has no type information.
class IAM_USER_NO_DIRECT_POLICIES(ConfigRule):  # type: ignore[misc]
    """The rule: thin glue between rdklib's Evaluator and ``compliance.decide``."""

    def evaluate_parameters(self, rule_parameters: dict[str, Any]) -> RuleOptions:
        """Validate the rule parameters; rdklib turns the error into a failed invocation."""
        try:
            return parse_rule_parameters(rule_parameters)
        except ValueError as error:
            raise InvalidParametersError(str(error)) from error

    def evaluate_change(
        self,
        event: dict[str, Any],
        client_factory: Any,
        configuration_item: dict[str, Any],
        valid_rule_parameters: RuleOptions,
    ) -> list[Evaluation]:
        """Decide from the configuration item alone (no IAM call)."""
        user = UserPolicies.from_configuration_item(configuration_item)
        verdict = decide(user, valid_rule_parameters)
        return [Evaluation(verdict.compliance_type, annotation=verdict.annotation)]

    def evaluate_periodic(
        self, event: dict[str, Any], client_factory: Any, valid_rule_parameters: RuleOptions
    ) -> list[Evaluation]:
        """Evaluate every user of the account from GetAccountAuthorizationDetails pages.

        Every user must be returned: rdklib marks the ones left out NOT_APPLICABLE.
        """
        iam_client = client_factory.build_client("iam")
        evaluations = []
        for user in iter_account_users(iam_client):
            verdict = decide(user, valid_rule_parameters)
            evaluations.append(
                Evaluation(verdict.compliance_type, user.user_id, RESOURCE_TYPE, verdict.annotation)
            )
        return evaluations


def _json_default(value: object) -> str:
    # The oversized path carries the capture time as the datetime botocore parsed.
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in the rule's result is not JSON-serialisable")


def lambda_handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    """Lambda entry point: check the event, evaluate with rdklib, fail loudly on errors
    (MalformedEvent, RuleInvocationError, EvaluationsRejected), return plain JSON."""
    # rdklib indexes the event unchecked; a missing eventLeftScope comes back as False.
    event = check_event(event)
    with watching_config_clients(json.loads(event["invokingEvent"])) as answers:
        result = Evaluator(IAM_USER_NO_DIRECT_POLICIES(), [RESOURCE_TYPE]).handle(event, context)
    if isinstance(result, dict) and "internalErrorMessage" in result:
        # rdklib caught a ClientError or a parameter error and returned it: nothing (or not
        # everything) was put, so the invocation must fail for Config to notice and retry.
        code = result.get("customerErrorCode") or "InternalError"
        message = result.get("customerErrorMessage") or result.get("internalErrorDetails")
        raise RuleInvocationError(f"{code}: {message} ({result['internalErrorMessage']})")
    # rdklib drops PutEvaluations' answers: evaluations Config refused fail the invocation.
    answers.raise_if_rejected()
    evaluations: list[dict[str, Any]] = json.loads(json.dumps(result, default=_json_default))
    return evaluations
