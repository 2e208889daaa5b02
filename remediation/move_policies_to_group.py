"""Helper Lambda of the remediation: move an IAM user's directly attached policies to groups.

The SSM Automation document ``MoveIAMUserPoliciesToGroup`` invokes
``lambda_handler`` with the noncompliant user's ID. This module reads the
state (``iam_state``), asks the pure planner (``group_plan``, where the
safety argument lives) for the ordered actions, and performs them: every
adding action first, then a read-back that every moved policy reaches the
user through a group (retried while IAM catches up), and only then the
removals from the user.

Payload: ``{"IAMResourceId": "AIDA..."}`` or ``{"UserName": "..."}``, and
optionally ``DryRun``, ``GroupPath``, ``GroupNamePrefix``,
``ExemptPolicyArns`` and ``MoveInlinePolicies``. Result: ``UserName``,
``UserId``, ``Status`` (MOVED | NOTHING_TO_MOVE | PLANNED), ``Groups``,
``MovedPolicyArns``, ``Actions``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from group_plan import (
    DEFAULT_GROUP_NAME_PREFIX,
    DEFAULT_GROUP_PATH,
    Action,
    GroupSpec,
    GroupState,
    MoveOptions,
    Plan,
    RemediationError,
    check_group,
    plan_move,
    policies_to_move,
    required_group_specs,
)
from iam_state import (
    attached_user_policy_arns,
    error_code,
    find_user_id,
    find_user_name,
    read_group,
    read_quotas,
    read_user,
    read_user_groups,
    user_exists,
    user_policy_names,
)
from user_compliance import parse_policy_arns

__all__ = ["MoveRequest", "RemediationError", "lambda_handler", "move_user_policies"]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)  # every IAM change is logged: the audit trail of the move
# Throttling is retried by botocore (standard mode: exponential backoff with jitter).
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 10})
VERIFY_DELAYS = (0.5, 1.0, 2.0, 4.0)  # read-back retries while IAM becomes consistent

MOVED, NOTHING_TO_MOVE, PLANNED = "MOVED", "NOTHING_TO_MOVE", "PLANNED"
PAYLOAD_KEYS = (
    "IAMResourceId",
    "UserName",
    "DryRun",
    "GroupPath",
    "GroupNamePrefix",
    "ExemptPolicyArns",
    "MoveInlinePolicies",
)
_USER_ID = re.compile(r"AIDA[A-Z0-9]{12,124}")
_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_GROUP_PATH = re.compile(r"/|/[\x21-\x7e]{1,510}/")
_GROUP_NAME_PREFIX = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


@dataclass(frozen=True)
class MoveRequest:
    """A validated payload: which user (by ID or name), how, and whether only to plan."""

    user_id: str | None
    user_name: str | None
    options: MoveOptions
    dry_run: bool = False


def _text(payload: Mapping[str, Any], key: str, pattern: re.Pattern[str], fix: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise RemediationError(f"{key} is {value!r}; expected {fix}.")
    return value


def _flag(payload: Mapping[str, Any], key: str) -> bool:
    value = payload.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RemediationError(f"{key} is {value!r}; expected true or false.")


def parse_payload(payload: Mapping[str, Any]) -> MoveRequest:
    """Validate the helper's payload; raise RemediationError naming the bad value and the fix."""
    if not isinstance(payload, Mapping):
        raise RemediationError(
            f"The payload is {type(payload).__name__}; expected a JSON object such as "
            '{"IAMResourceId": "AIDA..."}.'
        )
    if unknown := sorted(set(payload) - set(PAYLOAD_KEYS)):
        raise RemediationError(
            f"Unknown payload key(s) {', '.join(unknown)}; allowed: {', '.join(PAYLOAD_KEYS)}."
        )
    user_id = _text(payload, "IAMResourceId", _USER_ID, "an IAM user ID such as AIDA...")
    user_name = _text(payload, "UserName", _USER_NAME, "an IAM user name")
    if (user_id is None) == (user_name is None):
        raise RemediationError(
            "Give exactly one of IAMResourceId (the user ID Config records) and UserName."
        )
    exempt = payload.get("ExemptPolicyArns", "")
    if not isinstance(exempt, str):
        raise RemediationError(
            f"ExemptPolicyArns is {exempt!r}; expected a comma-separated string of policy ARNs."
        )
    try:
        exempt_arns = parse_policy_arns(exempt)
    except ValueError as error:
        raise RemediationError(str(error)) from error
    path = _text(payload, "GroupPath", _GROUP_PATH, "an IAM path such as /config-remediation/")
    prefix = _text(
        payload, "GroupNamePrefix", _GROUP_NAME_PREFIX, "1-64 characters of [A-Za-z0-9+=,.@_-]"
    )
    options = MoveOptions(
        group_path=path or DEFAULT_GROUP_PATH,
        group_name_prefix=prefix or DEFAULT_GROUP_NAME_PREFIX,
        exempt_policy_arns=exempt_arns,
        move_inline_policies=_flag(payload, "MoveInlinePolicies"),
    )
    return MoveRequest(user_id, user_name, options, dry_run=_flag(payload, "DryRun"))


def _result(user_name: str, user_id: str, status: str, plan: Plan | None) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "UserId": user_id,
        "Status": status,
        "Groups": list(plan.groups) if plan else [],
        "MovedPolicyArns": list(plan.moved_policy_arns) if plan else [],
        "Actions": plan.actions if plan else [],
    }


def perform_action(iam_client: Any, action: Action, specs: Mapping[str, GroupSpec]) -> bool:
    """Call the IAM API an action names; return True if it created a group."""
    parameters = {key: value for key, value in action.items() if key != "Action"}
    LOGGER.info("IAM %s", json.dumps(action))
    try:
        getattr(iam_client, xform_name(action["Action"]))(**parameters)
    except ClientError as error:
        if action["Action"] != "CreateGroup" or error_code(error) != "EntityAlreadyExists":
            raise
        # Another run created the same deterministic group first: use it only if it matches.
        spec = specs[action["GroupName"]]
        state = read_group(iam_client, spec.name)
        if state is None:
            raise RemediationError(
                f"Group {spec.name} cannot be created: IAM reports that a group of that name "
                "exists (group names that differ only in case are the same name), but it "
                "cannot be read. Nothing was added to the user. Run the remediation again, "
                "or rename that group or run with another GroupNamePrefix."
            ) from error
        check_group(spec, state)
        return False
    return action["Action"] == "CreateGroup"


def _unverified(iam_client: Any, plan: Plan) -> list[str]:
    """What the read-back finds missing or wrong; empty when the removals are safe."""
    with_inline = bool(plan.moved_inline_policies)
    groups = {  # IAM group names are unique regardless of case
        group.name.lower(): group
        for group in read_user_groups(iam_client, plan.user.user_name, with_inline=with_inline)
    }
    problems = [
        f"user not yet in group {name}" for name in plan.groups if name.lower() not in groups
    ]
    for spec in plan.new_groups:
        group = groups.get(spec.name.lower())
        if group is not None and group.policy_arns != frozenset(spec.policy_arns):
            problems.append(f"group {spec.name} carries {sorted(group.policy_arns)}")
        if with_inline and group is not None and group.inline_policies != set(spec.inline_policies):
            problems.append(f"group {spec.name} carries other inline policies")
    reached = {arn for group in groups.values() for arn in group.policy_arns}
    documents = {p.document for group in groups.values() for p in group.inline_policies}
    problems += [f"{arn} not reached" for arn in plan.moved_policy_arns if arn not in reached]
    problems += [
        f"inline policy {policy.name} not reached"
        for policy in plan.moved_inline_policies
        if policy.document not in documents
    ]
    return problems


def _verify(iam_client: Any, plan: Plan, sleep: Callable[[float], None]) -> None:
    """Read back until every moved policy reaches the user through a group (bounded)."""
    for delay in (*VERIFY_DELAYS, None):
        problems = _unverified(iam_client, plan)
        if not problems:
            return
        if delay is not None:
            sleep(delay)
    raise RemediationError(
        f"Read-back after adding {plan.user.user_name} to {', '.join(plan.groups)} failed: "
        f"{'; '.join(problems)}. The policies are still attached to the user, so nothing "
        "was lost; run the remediation again."
    )


def _still_on_user(iam_client: Any, action: Action) -> bool:
    """Whether the policy a removal action names is still attached to or inline in the user."""
    user_name = action["UserName"]
    if action["Action"] == "DetachUserPolicy":
        attached = attached_user_policy_arns(iam_client, user_name)
        return action["PolicyArn"] in attached
    return action["PolicyName"] in user_policy_names(iam_client, user_name)


def _remove_from_user(iam_client: Any, action: Action, specs: Mapping[str, GroupSpec]) -> None:
    """Perform a removal; one already done (a concurrent run of the same user) is no error.

    NoSuchEntity is accepted only when a fresh read shows the policy is off the user;
    if the user itself is gone, that read raises NoSuchEntity for the caller to handle.
    """
    try:
        perform_action(iam_client, action, specs)
    except ClientError as error:
        if error_code(error) != "NoSuchEntity" or _still_on_user(iam_client, action):
            raise
        LOGGER.info("IAM %s: already removed from the user", json.dumps(action))


def _remove_memberless_groups(iam_client: Any, names: list[str]) -> list[str]:
    """Delete groups this run created that have no members, with their policies.

    IAM has no "delete if empty": another run may add a user between the read and
    DeleteGroup. IAM then refuses the deletion (DeleteConflict), and the group gets its
    policies back, so that user keeps what the group gave it.
    """
    removed = []
    for name in names:
        state = read_group(iam_client, name)
        if state is None or state.member_names:
            continue
        for arn in sorted(state.policy_arns):
            iam_client.detach_group_policy(GroupName=name, PolicyArn=arn)
        for policy in sorted(state.inline_policies):
            iam_client.delete_group_policy(GroupName=name, PolicyName=policy.name)
        try:
            iam_client.delete_group(GroupName=name)
        except ClientError as error:
            if error_code(error) != "DeleteConflict":
                raise
            _restore_group(iam_client, state)
            continue
        removed.append(name)
    return removed


def _restore_group(iam_client: Any, state: GroupState) -> None:
    """Give a group whose deletion IAM refused its policies back."""
    LOGGER.warning("IAM group %s gained a member during clean-up: restoring it", state.name)
    for arn in sorted(state.policy_arns):
        iam_client.attach_group_policy(GroupName=state.name, PolicyArn=arn)
    for policy in sorted(state.inline_policies):
        iam_client.put_group_policy(
            GroupName=state.name, PolicyName=policy.name, PolicyDocument=policy.document
        )


def move_user_policies(
    iam_client: Any, request: MoveRequest, *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Move the user's policies to groups (or only plan it, for a dry run); return the result."""
    if request.user_name is not None:
        user_name, user_id = request.user_name, find_user_id(iam_client, request.user_name)
    else:
        user_id = request.user_id or ""
        user_name = find_user_name(iam_client, user_id)
    options = request.options
    try:
        user = read_user(iam_client, user_name, user_id, with_inline=options.move_inline_policies)
    except ClientError as error:
        if error_code(error) != "NoSuchEntity" or user_exists(iam_client, user_name):
            raise
        raise RemediationError(
            f"IAM user {user_name} ({user_id}) no longer exists. Nothing was changed and "
            "nothing is left to remediate."
        ) from error
    if policies_to_move(user, options) == ((), ()):
        return _result(user_name, user_id, NOTHING_TO_MOVE, None)
    quotas = read_quotas(iam_client)
    specs = {spec.name: spec for spec in required_group_specs(user, options, quotas)}
    plan = plan_move(user, options, quotas, {name: read_group(iam_client, name) for name in specs})
    if request.dry_run:
        return _result(user_name, user_id, PLANNED, plan)
    created: list[str] = []
    try:
        for action in plan.setup_actions:
            if perform_action(iam_client, action, specs):
                created.append(action["GroupName"])
        _verify(iam_client, plan, sleep)
        for action in plan.removal_actions:
            _remove_from_user(iam_client, action, specs)
    except ClientError as error:
        if error_code(error) != "NoSuchEntity" or user_exists(iam_client, user_name):
            raise
        removed = _remove_memberless_groups(iam_client, created)
        raise RemediationError(
            f"IAM user {user_name} ({user_id}) was deleted during the remediation. "
            f"Groups created for it and removed again: {', '.join(removed) or 'none'}. "
            "Nothing is left to remediate."
        ) from error
    return _result(user_name, user_id, MOVED, plan)


def new_iam_client() -> Any:
    """An IAM client that retries throttling with backoff."""
    return boto3.client("iam", config=RETRY_CONFIG)


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: parse the payload, move the policies, return the result."""
    request = parse_payload(event)
    result = move_user_policies(new_iam_client(), request)
    LOGGER.info("remediation result: %s", json.dumps(result))
    return result
