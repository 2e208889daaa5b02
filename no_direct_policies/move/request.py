"""The helper Lambda's body: move an IAM user's directly attached policies to groups.

The SSM Automation document ``MoveIAMUserPoliciesToGroup`` invokes the helper
(``remediation/move_policies_to_group.py``, whose ``lambda_handler`` is this
module's) with the noncompliant user's ID. This module reads the state
(``iam_reads``), asks the pure planner (``plan``, where the safety argument
lives) for the ordered actions, and has ``executor`` perform them: every
adding action first, then a read-back that every moved policy reaches the user
through a group (retried while IAM catches up), and only then the removals
from the user, each write that names the user guarded against changes others
make meanwhile.

A refusal before any change raises ``RemediationRefused`` ("Refused: ...");
a stop after some change, at a safe point, raises ``RemediationStopped``
("Stopped part-way: ..."), naming what was changed and what to do.

Payload: ``{"IAMResourceId": "AIDA..."}`` or ``{"UserName": "..."}``, and
optionally ``DryRun``, ``GroupPath``, ``GroupNamePrefix``,
``ExemptPolicyArns`` and ``MoveInlinePolicies``. Result: ``UserName``,
``UserId``, ``Status`` (MOVED | NOTHING_TO_MOVE | PLANNED), ``Groups``,
``MovedPolicyArns``, ``Actions``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from no_direct_policies.compliance import parse_policy_arns
from no_direct_policies.move.account_snapshot import AccountSnapshot
from no_direct_policies.move.audit_trail import audit_logger
from no_direct_policies.move.executor import MoveRun, RunLock, describe_error, perform_action
from no_direct_policies.move.iam_reads import (
    attached_user_policy_arns,
    error_code,
    find_user_id,
    find_user_name,
    group_policies,
    read_group,
    read_quotas,
    read_user,
    user_group_paths,
    user_id_of,
    user_inline_policies,
)
from no_direct_policies.move.plan import (
    DEFAULT_GROUP_NAME_PREFIX,
    DEFAULT_GROUP_PATH,
    GroupSpec,
    MoveOptions,
    Plan,
    RemediationError,
    RemediationRefused,
    RemediationStopped,
    UserState,
    plan_move,
    policies_to_move,
    required_group_specs,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

__all__ = [
    "MoveRequest",
    "RemediationError",
    "RemediationRefused",
    "RemediationStopped",
    "lambda_handler",
    "move_user_policies",
    "perform_action",
    "resolve_user",
]

LOGGER = audit_logger(__name__)
_RENAMED = "(if it was renamed, run it again for its ID)"
# Throttling is retried by botocore (standard mode: exponential backoff with jitter).
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 10})

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
        raise RemediationRefused(f"{key} is {value!r}; expected {fix}.")
    return value


def _flag(payload: Mapping[str, Any], key: str) -> bool:
    value = payload.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RemediationRefused(f"{key} is {value!r}; expected true or false.")


def parse_payload(payload: Mapping[str, Any]) -> MoveRequest:
    """Validate the helper's payload; raise RemediationError naming the bad value and the fix."""
    if not isinstance(payload, Mapping):
        raise RemediationRefused(
            f"The payload is {type(payload).__name__}; expected a JSON object such as "
            '{"IAMResourceId": "AIDA..."}.'
        )
    if unknown := sorted(set(payload) - set(PAYLOAD_KEYS)):
        raise RemediationRefused(
            f"Unknown payload key(s) {', '.join(unknown)}; allowed: {', '.join(PAYLOAD_KEYS)}."
        )
    user_id = _text(payload, "IAMResourceId", _USER_ID, "an IAM user ID such as AIDA...")
    user_name = _text(payload, "UserName", _USER_NAME, "an IAM user name")
    if (user_id is None) == (user_name is None):
        raise RemediationRefused(
            "Give exactly one of IAMResourceId (the user ID Config records) and UserName."
        )
    exempt = payload.get("ExemptPolicyArns", "")
    if not isinstance(exempt, str):
        raise RemediationRefused(
            f"ExemptPolicyArns is {exempt!r}; expected a comma-separated string of policy ARNs."
        )
    try:
        exempt_arns = parse_policy_arns(exempt)
    except ValueError as error:
        raise RemediationRefused(str(error)) from error
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


def resolve_user(
    iam_client: IAMClient, user_id: str | None, user_name: str | None
) -> tuple[str, str]:
    """The user's name and ID, read from IAM by the one of them the payload gave."""
    if user_name is not None:
        return user_name, find_user_id(iam_client, user_name)
    return find_user_name(iam_client, user_id or ""), user_id or ""


def move_user_policies(
    iam_client: IAMClient, request: MoveRequest, *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Move the user's policies to groups (or only plan it, for a dry run); return the result."""
    user_name, user_id = resolve_user(iam_client, request.user_id, request.user_name)
    user = _read_user(iam_client, user_name, user_id, request.options)
    return move_read_user(iam_client, user, request.options, dry_run=request.dry_run, sleep=sleep)


def move_read_user(
    iam_client: IAMClient,
    user: UserState,
    options: MoveOptions,
    *,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    snapshot: AccountSnapshot | None = None,
) -> dict[str, Any]:
    """Plan the move from a read of the user (and, in bulk, of the account), then perform it.

    The plan comes from ``user`` and, given a ``snapshot``, from the account's groups and
    quotas as read once for every user; else the quotas and candidate groups are read
    here. Under the run lock the user's direct policies and ID are read again: a user
    that changed since ``user`` was read is read anew and planned again.
    """
    user_name, user_id = user.user_name, user.user_id
    if policies_to_move(user, options) == ((), ()):
        return _result(user_name, user_id, NOTHING_TO_MOVE, None)
    first_plan, specs = _plan(iam_client, user, options, snapshot)
    if dry_run:
        if snapshot is not None:  # the next user's plan joins the groups this one would make
            snapshot.record(first_plan.setup_actions)
        return _result(user_name, user_id, PLANNED, first_plan)
    try:
        plan = _perform(iam_client, user, options, first_plan, specs, sleep=sleep)
    except RemediationError:  # the groups may differ from the snapshot: read them next time
        if snapshot is not None:
            snapshot.forget(first_plan.groups)
        raise
    if plan is None:
        return _result(user_name, user_id, NOTHING_TO_MOVE, None)
    if snapshot is not None:
        snapshot.record(plan.setup_actions)
    return _result(user_name, user_id, MOVED, plan)


def _perform(
    iam_client: IAMClient,
    user: UserState,
    options: MoveOptions,
    first_plan: Plan,
    specs: dict[str, GroupSpec],
    *,
    sleep: Callable[[float], None],
) -> Plan | None:
    """Take the lock, re-read, re-plan if needed, perform; the plan performed, or None."""
    plan: Plan | None = first_plan
    lock = RunLock(iam_client, first_plan.lock_group, first_plan.lock_path, sleep)
    try:
        lock.acquire()  # refused while another run for this user holds it
    except BotoCoreError as error:  # no answer: IAM may have created the lock all the same
        raise RemediationStopped(
            f"{describe_error(error)} when creating the run lock group {lock.name}: IAM may "
            "have created it without this run learning so. It has no member and no policy, "
            f"so it grants nothing, but while it exists (up to 15 minutes) runs for "
            f"{user.user_name} are refused; nothing else was changed. If no other run is "
            f"changing {user.user_name}, delete it: aws iam delete-group --group-name "
            f"{lock.name}"
        ) from error
    try:
        # Read again under the lock: a run that ended (or anyone's change) between the
        # first read and the lock changed what there is to move.
        again = _changed_under_lock(iam_client, user, options)
        if again is not None:
            if policies_to_move(again, options) == ((), ()):
                plan = None
            else:
                # GetAccountSummary may or may not count this run's lock yet (IAM is
                # eventually consistent), and the planner adds the lock: at the exact
                # GroupsQuota such a re-plan is refused, never let past it.
                plan, specs = _plan(iam_client, again, options, None)
    except (RemediationRefused, RemediationStopped) as outcome:
        if problem := lock.release():
            raise RemediationStopped(f"{outcome.reason} {problem}") from outcome
        raise
    except (ClientError, BotoCoreError) as error:
        if problem := lock.release():
            raise RemediationStopped(
                f"{describe_error(error)} before any change but the run lock. {problem}"
            ) from error
        raise
    if plan is None:
        if problem := lock.release():
            raise RemediationStopped(f"Nothing was left to move. {problem}")
        return None
    # A re-plan read more after the identity check: the user is checked again before a join.
    MoveRun(iam_client, plan, specs, lock, sleep, checked=again is None).execute()
    return plan


def _changed_under_lock(
    iam_client: IAMClient, user: UserState, options: MoveOptions
) -> UserState | None:
    """None if the user is as ``user`` has it where the plan depends on it; else the user now.

    Three reads when nothing changed (``ListAttachedUserPolicies``, ``ListGroupsForUser``:
    the groups count against GroupsPerUserQuota, checked before any change; then
    ``GetUser``: the name still has the planned ID, so the reads were of that user); they
    are also the check before the first ``AddUserToGroup`` when no group is created first.
    What each of the user's groups under the remediation path, or carrying one of its
    policies, carries is read too (two reads a group): rule 2 never counts a changed
    remediation group as covering, and a group that no longer carries a policy must not
    be planned as covering it.
    """
    name = user.user_name
    try:
        attached = frozenset(attached_user_policy_arns(iam_client, name))
        inline = user_inline_policies(iam_client, name) if options.move_inline_policies else None
        same_groups = _groups_as_planned(iam_client, user, options)
    except ClientError as error:
        raise user_gone(iam_client, error, name, user.user_id, _RENAMED) from error
    found = user_id_of(iam_client, name)
    if found != user.user_id:
        now = f"belongs to another user ({found}) now" if found else "no longer exists"
        raise RemediationRefused(
            f"IAM user {name} ({user.user_id}) was renamed or deleted before any change: the "
            f"name {name} {now}. Nothing was changed {_RENAMED}."
        )
    same_inline = inline is None or inline == frozenset(user.inline_policies)
    if attached == frozenset(user.attached_policy_arns) and same_inline and same_groups:
        return None
    return _read_user(iam_client, name, user.user_id, options)


def _groups_as_planned(iam_client: IAMClient, user: UserState, options: MoveOptions) -> bool:
    """Whether the user is in the groups ``user`` has, and those the plan relies on (under
    the remediation path, or carrying one of its policies) carry what ``user`` has them
    carry; stops reading at the first difference."""
    known = {group.name.lower(): group for group in user.groups}
    groups = user_group_paths(iam_client, user.user_name)
    if {group.lower() for group in groups} != set(known):
        return False
    moved = set(user.attached_policy_arns) | {p.document for p in user.inline_policies}
    for group, path in groups.items():
        state = known[group.lower()]
        carries = {p.document for p in state.inline_policies} | state.policy_arns
        if path != options.group_path and not carries & moved:
            continue
        carried = group_policies(iam_client, group)
        # Inline policies count where the plan reads them: remediation groups (rule 2)
        # and, when inline policies move, every covering group.
        inline_counts = path == options.group_path or options.move_inline_policies
        if carried is None or carried[0] != state.policy_arns:
            return False
        if inline_counts and carried[1] != state.inline_policies:
            return False
    return True


def _read_user(
    iam_client: IAMClient, user_name: str, user_id: str, options: MoveOptions
) -> UserState:
    try:
        return read_user(
            iam_client,
            user_name,
            user_id,
            with_inline=options.move_inline_policies,
            remediation_path=options.group_path,
        )
    except ClientError as error:
        raise user_gone(iam_client, error, user_name, user_id, _RENAMED) from error


def user_gone(
    iam_client: IAMClient, error: ClientError, user_name: str, user_id: str, what_next: str
) -> RemediationRefused:
    """The refusal for a user that vanished before any change; re-raises any other error."""
    if error_code(error) != "NoSuchEntity" or user_id_of(iam_client, user_name) is not None:
        raise error
    return RemediationRefused(
        f"IAM user {user_name} ({user_id}) no longer exists. Nothing was changed {what_next}."
    )


def _plan(
    iam_client: IAMClient, user: UserState, options: MoveOptions, snapshot: AccountSnapshot | None
) -> tuple[Plan, dict[str, GroupSpec]]:
    """The plan and its groups' specs: from the snapshot if given, else from IAM now."""
    quotas = snapshot.quotas() if snapshot else read_quotas(iam_client)
    specs = {spec.name: spec for spec in required_group_specs(user, options, quotas)}
    group = snapshot.group if snapshot else partial(read_group, iam_client)
    existing = {name: group(name) for name in specs}
    return plan_move(user, options, quotas, existing), specs


def new_iam_client() -> IAMClient:
    """An IAM client that retries throttling with backoff."""
    return boto3.client("iam", config=RETRY_CONFIG)


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: parse the payload, move the policies, return the result."""
    request = parse_payload(event)
    result = move_user_policies(new_iam_client(), request)
    LOGGER.info("remediation result: %s", json.dumps(result))
    return result
