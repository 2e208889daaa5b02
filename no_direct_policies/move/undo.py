"""Undo the move for one user: its remediation groups' policies go back onto it directly.

``restore_user_policies`` reads the user and the groups under the remediation's
path that it is in, asks the pure planner (``undo_plan``, where the safety
argument lives) for the actions, and ``UndoRun`` performs them, re-reading where
it matters:

- before every write that names the user: the name still belongs to the
  planned user ID (``GetUser``); a mismatch takes back what was attached since
  the last confirmation, then stops;
- after the restores: a read-back (retried while IAM catches up) that every
  restored policy is attached to the user directly;
- right before each ``PutUserPolicy``: the name (``GetUserPolicy``); another
  document there stops the undo, the same one skips the put;
- right before leaving each group: the group's policies, the user's memberships
  and its direct policies again. What this run restored that the group (or the
  membership) no longer carries was revoked during the undo and is taken back
  from the user; what the group carries that the user does not hold directly
  keeps the user in the group, and the undo stops. Right after leaving, the
  direct policies once more: one gone meanwhile puts the user back in the group;
- at the end: the user's groups under the path, one joined meanwhile stops it.

An AWS error after a change stops the run (``RemediationStopped``) with what it
changed, as the move does.

Payload: ``{"IAMResourceId": "AIDA..."}`` or ``{"UserName": "..."}``, and
optionally ``DryRun`` and ``GroupPath``. Result: ``UserName``, ``UserId``,
``Status`` (RESTORED | NOTHING_TO_RESTORE | PLANNED), ``Groups``,
``RestoredPolicyArns``, ``Actions``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from botocore import xform_name
from botocore.exceptions import ClientError

from no_direct_policies.move.audit_trail import audit_logger
from no_direct_policies.move.executor import VERIFY_DELAYS  # the move's read-back schedule
from no_direct_policies.move.iam_reads import (
    attached_user_policy_arns,
    error_code,
    user_id_of,
    user_inline_policies,
)
from no_direct_policies.move.plan import (
    DEFAULT_GROUP_PATH,
    Action,
    GroupState,
    InlinePolicy,
    RemediationRefused,
    RemediationStopped,
    UserState,
)
from no_direct_policies.move.request import (
    new_iam_client,
    parse_payload,
    resolve_user,
    user_gone,
)
from no_direct_policies.move.undo_plan import UndoPlan, UndoQuotas, plan_undo

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

LOGGER = audit_logger(__name__)

RESTORED, NOTHING_TO_RESTORE, PLANNED = "RESTORED", "NOTHING_TO_RESTORE", "PLANNED"
UNDO_PAYLOAD_KEYS = ("IAMResourceId", "UserName", "DryRun", "GroupPath")


@dataclass(frozen=True)
class UndoRequest:
    """A validated undo payload: which user (by ID or name), where its groups live, dry run."""

    user_id: str | None
    user_name: str | None
    group_path: str = DEFAULT_GROUP_PATH
    dry_run: bool = False


def parse_undo_payload(payload: Mapping[str, Any]) -> UndoRequest:
    """Validate the undo's payload with the move's own rules for the keys they share."""
    if isinstance(payload, Mapping) and (unknown := sorted(set(payload) - set(UNDO_PAYLOAD_KEYS))):
        raise RemediationRefused(
            f"Unknown payload key(s) {', '.join(unknown)} for the undo; allowed: "
            f"{', '.join(UNDO_PAYLOAD_KEYS)}."
        )
    move = parse_payload(payload)
    return UndoRequest(move.user_id, move.user_name, move.options.group_path, move.dry_run)


def _items(iam_client: IAMClient, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    paginator: Any = iam_client.get_paginator(operation)  # type: ignore[call-overload]
    for page in paginator.paginate(**kwargs):
        yield from page[key]


def read_group_policies(
    iam_client: IAMClient, group: str
) -> tuple[frozenset[str], frozenset[InlinePolicy]]:
    """A group's attached managed policy ARNs and inline policies."""
    arns = frozenset(
        policy["PolicyArn"]
        for policy in _items(
            iam_client, "list_attached_group_policies", "AttachedPolicies", GroupName=group
        )
    )
    inline = set()
    for name in _items(iam_client, "list_group_policies", "PolicyNames", GroupName=group):
        try:
            document = iam_client.get_group_policy(GroupName=group, PolicyName=name)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            continue  # deleted between the list and the read: not there
        inline.add(InlinePolicy.from_document(name, document["PolicyDocument"]))
    return arns, frozenset(inline)


def read_undo_state(
    iam_client: IAMClient, user_name: str, user_id: str, group_path: str
) -> tuple[UserState, UndoQuotas | None]:
    """The user with its remediation groups only; quotas and direct policies only if any."""
    listed = [
        group
        for group in _items(iam_client, "list_groups_for_user", "Groups", UserName=user_name)
        if group["Path"] == group_path
    ]
    if not listed:
        return UserState(user_name, user_id, ()), None
    summary = iam_client.get_account_summary()["SummaryMap"]
    quotas = UndoQuotas.from_summary_map({str(key): value for key, value in summary.items()})
    attached = attached_user_policy_arns(iam_client, user_name)
    groups = []
    for group in listed:
        arns, inline = read_group_policies(iam_client, group["GroupName"])
        groups.append(GroupState(group["GroupName"], group["Path"], arns, inline))
    with_inline = any(group.inline_policies for group in groups)
    user_inline = tuple(sorted(user_inline_policies(iam_client, user_name))) if with_inline else ()
    return UserState(user_name, user_id, attached, user_inline, tuple(groups)), quotas


def _result(
    user_name: str,
    user_id: str,
    status: str,
    plan: UndoPlan | None,
    restored: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "UserId": user_id,
        "Status": status,
        "Groups": list(plan.group_names) if plan else [],
        "RestoredPolicyArns": list(plan.restored_policy_arns if restored is None else restored)
        if plan
        else [],
        "Actions": plan.actions if plan else [],
    }


class UndoRun:
    """One execution of an undo plan: what it changed so far, and the guards around each write."""

    def __init__(self, iam_client: IAMClient, plan: UndoPlan) -> None:
        self.iam = iam_client
        self.plan = plan
        self.user_name, self.user_id = plan.user.user_name, plan.user.user_id
        self.attached: list[str] = []  # by this run
        self.put: list[InlinePolicy] = []  # by this run
        self.left: list[str] = []  # groups the user left
        self.taken_back: list[str] = []  # restored, then revoked during the run: detached
        self.revoked: list[str] = []  # groups the user was removed from during the run
        self._identity_lost = False  # the name no longer belongs to the planned user ID
        self._unconfirmed: list[Action] = []  # grants since the user's ID was last confirmed
        self.writes = 0
        # The latest state known of each remediation group, by name.
        self._carried = {g.name: (g.policy_arns, g.inline_policies) for g in plan.groups}

    def execute(self, sleep: Callable[[float], None]) -> tuple[str, ...]:
        """Run the undo; an AWS error after a change stops it, saying what was changed."""
        try:
            return self._execute(sleep)
        except ClientError as error:
            if not self.writes:
                raise  # nothing was changed: the AWS error as it is
            message = error.response.get("Error", {}).get("Message", "")
            raise RemediationStopped(
                f"AWS error {error_code(error)} on {error.operation_name} ({message}) after "
                f"this run had changed IAM; it stopped there. {self.changes()} Run the undo "
                "again to resume."
            ) from error

    def _execute(self, sleep: Callable[[float], None]) -> tuple[str, ...]:
        """Restores, read-back, then leave each group; returns the policies restored."""
        for action in self.plan.restore_actions:
            self.confirm_identity()
            if action["Action"] == "PutUserPolicy" and self._inline_already_there(action):
                continue
            self._write(action)
        self._verify(sleep)
        for group in self.plan.groups:
            self._leave(group)
        path = self.plan.groups[0].path
        joined = sorted(
            g["GroupName"]
            for g in _items(self.iam, "list_groups_for_user", "Groups", UserName=self.user_name)
            if g["Path"] == path
        )
        if joined:
            self.confirm_identity()
            self.stop(
                f"{self.user_name} joined {', '.join(joined)} during the undo; run the undo "
                "again to restore its policies too."
            )
        return tuple(a for a in self.plan.restored_policy_arns if a not in self.taken_back)

    def _inline_already_there(self, action: Action) -> bool:
        """Read the name right before the put: True if it holds our document; stop on another.

        ``PutUserPolicy`` replaces whatever document the name holds, so a document put on the
        user under that name since the planning read would be lost.
        """
        name = action["PolicyName"]
        try:
            found = self.iam.get_user_policy(UserName=self.user_name, PolicyName=name)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            return False  # the name is free (or the user is gone: the put finds out)
        if InlinePolicy.from_document(name, found["PolicyDocument"]) == InlinePolicy.from_document(
            name, action["PolicyDocument"]
        ):
            return True  # put back meanwhile with the same document: not this run's
        raise self.failure(
            f"User {self.user_name} was given another document under the inline policy name "
            f"{name} during the undo; it was not replaced. Rename one of the two documents, "
            "then run the undo again."
        )

    def _write(self, action: Action) -> None:
        parameters = {key: value for key, value in action.items() if key != "Action"}
        LOGGER.info("IAM %s", json.dumps(action))
        name = action["Action"]
        try:
            getattr(self.iam, _method(name))(**parameters)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            self.confirm_identity()  # a user deleted or renamed meanwhile stops here
            if name == "RemoveUserFromGroup":
                # Removed from it (or the group deleted) meanwhile: a revocation, which stands.
                self._membership_revoked(self._group(action["GroupName"]))
            raise  # the user is there, so the policy is not: fail loudly, nothing was removed
        self.writes += 1
        if name == "AttachUserPolicy":
            self.attached.append(action["PolicyArn"])
            self._unconfirmed.append(action)
        elif name == "PutUserPolicy":
            self.put.append(
                InlinePolicy.from_document(action["PolicyName"], action["PolicyDocument"])
            )
            self._unconfirmed.append(action)
        elif name == "RemoveUserFromGroup":
            self.left.append(action["GroupName"])

    def _verify(
        self, sleep: Callable[[float], None]
    ) -> tuple[frozenset[str], frozenset[InlinePolicy]]:
        """Read back until every restored policy is on the user directly (bounded)."""
        wanted_arns = set(self.plan.restored_policy_arns)
        wanted_inline = set(self.plan.restored_inline_policies)
        missing: list[str] = []
        for delay in (*VERIFY_DELAYS, None):
            try:
                arns = frozenset(attached_user_policy_arns(self.iam, self.user_name))
                inline = (
                    user_inline_policies(self.iam, self.user_name) if wanted_inline else frozenset()
                )
            except ClientError as error:
                if error_code(error) == "NoSuchEntity":
                    self.confirm_identity()  # stops when the user is gone
                raise
            missing = sorted(wanted_arns - arns) + [
                f"inline policy {p.name}" for p in sorted(wanted_inline - inline)
            ]
            if not missing:
                return arns, inline
            if delay is not None:
                sleep(delay)
        self.confirm_identity()
        raise self.failure(
            f"the read-back of {self.user_name}'s directly attached policies does not show "
            f"{', '.join(missing)}. {self.user_name} is still in its remediation groups, so "
            "nothing was lost; run the undo again."
        )

    def _group(self, name: str) -> GroupState:
        return next(group for group in self.plan.groups if group.name == name)

    def _leave(self, group: GroupState) -> None:
        """Re-read the group, the membership and the user's direct policies; then leave.

        What was revoked from the group (or the membership itself) is taken back from the
        user; what the group carries that the user does not hold directly right now keeps the
        user in the group, and the undo stops.
        """
        try:
            arns, inline = read_group_policies(self.iam, group.name)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            arns, inline = frozenset(), frozenset()  # deleted meanwhile: it carries nothing
            gone = True
        else:
            gone = False
        self._carried[group.name] = (arns, inline)
        if gone or group.name not in self._memberships():
            self._membership_revoked(group)
        self._take_back_revoked(group, arns, inline)
        direct_arns, direct_inline = self._direct_now(with_inline=bool(inline))
        missing = sorted(arns - direct_arns) + [
            f"inline policy {p.name}" for p in sorted(inline - direct_inline)
        ]
        if missing:
            planned = set(group.policy_arns) | {
                f"inline policy {p.name}" for p in group.inline_policies
            }
            lost = [item for item in missing if item in planned]
            gained = [item for item in missing if item not in planned]
            reasons = []
            if lost:
                reasons.append(
                    f"{', '.join(lost)} is no longer on {self.user_name} directly (removed "
                    "during the undo)"
                )
            if gained:
                reasons.append(f"group {group.name} gained {', '.join(gained)} during the undo")
            self.confirm_identity()
            self.stop(
                f"{'; '.join(reasons).capitalize()}: {self.user_name} stays in {group.name}, "
                "so nothing is lost. Run the undo again to restore it."
            )
        self.confirm_identity()
        self._write(
            {"Action": "RemoveUserFromGroup", "GroupName": group.name, "UserName": self.user_name}
        )
        self._rejoin_if_lost(group, arns, inline)

    def _rejoin_if_lost(
        self, group: GroupState, arns: frozenset[str], inline: frozenset[InlinePolicy]
    ) -> None:
        """Read the direct policies after leaving: if one the group carries went meanwhile, rejoin.

        A direct copy removed between the read right before ``RemoveUserFromGroup`` and that
        call would be lost with the membership; adding the user back to the group restores it.
        """
        direct_arns, direct_inline = self._direct_now(with_inline=bool(inline))
        missing = sorted(arns - direct_arns) + [
            f"inline policy {p.name}" for p in sorted(inline - direct_inline)
        ]
        if not missing:
            return
        self.confirm_identity()
        action: Action = {
            "Action": "AddUserToGroup",
            "GroupName": group.name,
            "UserName": self.user_name,
        }
        LOGGER.info("IAM %s", json.dumps(action))
        self.iam.add_user_to_group(GroupName=group.name, UserName=self.user_name)
        self.writes += 1
        self.left.remove(group.name)
        self.stop(
            f"{', '.join(missing)} was removed from {self.user_name} directly while it left "
            f"group {group.name}: {self.user_name} was added back to {group.name}, so nothing "
            "is lost. Run the undo again to restore it."
        )

    def _memberships(self) -> set[str]:
        """The names of the groups the user is in now."""
        try:
            return {
                g["GroupName"]
                for g in _items(self.iam, "list_groups_for_user", "Groups", UserName=self.user_name)
            }
        except ClientError as error:
            if error_code(error) == "NoSuchEntity":
                self.confirm_identity()  # stops when the user is gone
            raise

    def _direct_now(self, *, with_inline: bool) -> tuple[frozenset[str], frozenset[InlinePolicy]]:
        """The user's direct policies as they are now (inline ones only if asked)."""
        try:
            arns = frozenset(attached_user_policy_arns(self.iam, self.user_name))
            inline = user_inline_policies(self.iam, self.user_name) if with_inline else frozenset()
        except ClientError as error:
            if error_code(error) == "NoSuchEntity":
                self.confirm_identity()  # stops when the user is gone
            raise
        return arns, inline

    def _membership_revoked(self, group: GroupState) -> None:
        """The user was removed from the group during the undo: the removal stands; stop.

        What this run attached for that group is detached again, unless another of the user's
        remediation groups (not revoked) carries it too.
        """
        self.revoked.append(group.name)
        others = [
            carried
            for name, carried in self._carried.items()
            if name != group.name and name not in self.revoked
        ]
        taken = []
        for arn in sorted(group.policy_arns):
            if (
                arn in self.attached
                and arn not in self.taken_back
                and not any(arn in carried for carried, _ in others)
            ):
                self.confirm_identity()
                self._remove_grant(
                    {"Action": "DetachUserPolicy", "UserName": self.user_name, "PolicyArn": arn}
                )
                self.taken_back.append(arn)
                taken.append(arn)
        for policy in sorted(group.inline_policies):
            label = f"inline policy {policy.name}"
            if (
                policy in self.put
                and label not in self.taken_back
                and not any(policy in carried for _, carried in others)
            ):
                self.confirm_identity()
                self._remove_grant(
                    {
                        "Action": "DeleteUserPolicy",
                        "UserName": self.user_name,
                        "PolicyName": policy.name,
                    }
                )
                self.taken_back.append(label)
                taken.append(label)
        self.confirm_identity()
        again = (
            f"detached {', '.join(taken)} from {self.user_name} again"
            if taken
            else "nothing this run restored came from that group alone"
        )
        self.stop(
            f"{self.user_name} was removed from group {group.name} during the undo; the removal "
            f"stands: {again}."
        )

    def _take_back_revoked(
        self, group: GroupState, arns: frozenset[str], inline: frozenset[InlinePolicy]
    ) -> None:
        """Detach from the user what this run restored and the group lost meanwhile."""
        others = [v for name, v in self._carried.items() if name != group.name]
        for arn in sorted(group.policy_arns - arns):
            if arn in self.attached and not any(arn in carried for carried, _ in others):
                self.confirm_identity()
                self._remove_grant(
                    {"Action": "DetachUserPolicy", "UserName": self.user_name, "PolicyArn": arn}
                )
                self.taken_back.append(arn)
        for policy in sorted(group.inline_policies - inline):
            if policy in self.put and not any(policy in carried for _, carried in others):
                self.confirm_identity()
                self._remove_grant(
                    {
                        "Action": "DeleteUserPolicy",
                        "UserName": self.user_name,
                        "PolicyName": policy.name,
                    }
                )
                self.taken_back.append(f"inline policy {policy.name}")

    def _remove_grant(self, action: Action) -> bool:
        """Take back one grant of this run; False if IAM finds nothing to remove."""
        LOGGER.info("IAM %s", json.dumps(action))
        parameters = {key: value for key, value in action.items() if key != "Action"}
        try:
            getattr(self.iam, _method(action["Action"]))(**parameters)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            return False
        self.writes += 1
        return True

    def confirm_identity(self) -> None:
        """Stop unless the user's name still belongs to the planned user ID.

        Policies attached since the last confirmation may have gone to a new user of that
        name: they are taken back first, so the new principal is granted nothing.
        """
        found = user_id_of(self.iam, self.user_name)
        if found == self.user_id:
            self._unconfirmed.clear()
            return
        taken = []
        for action in self._unconfirmed:
            if action["Action"] == "AttachUserPolicy":
                undo: Action = {
                    "Action": "DetachUserPolicy",
                    "UserName": self.user_name,
                    "PolicyArn": action["PolicyArn"],
                }
                label = action["PolicyArn"]
            else:
                undo = {
                    "Action": "DeleteUserPolicy",
                    "UserName": self.user_name,
                    "PolicyName": action["PolicyName"],
                }
                label = f"inline policy {action['PolicyName']}"
            if self._remove_grant(undo):
                taken.append(label)
            if action["Action"] == "AttachUserPolicy":
                self.attached.remove(action["PolicyArn"])  # not on the planned user
            else:
                self.put = [p for p in self.put if p.name != action["PolicyName"]]
        self._unconfirmed.clear()
        self._identity_lost = True
        if found is None:
            what = "was deleted or renamed during the undo"
        else:
            what = f"was replaced during the undo: the name now belongs to another user ({found})"
        detached = (
            f" What this run had attached under the name since it last checked the user "
            f"({', '.join(taken)}) was detached from {self.user_name} ({found}) again."
            if taken and found
            else ""
        )
        self.stop(f"IAM user {self.user_name} ({self.user_id}) {what}.{detached}")

    def changes(self) -> str:
        """What this run changed that is still in place, for a stop's message."""
        if self._identity_lost:
            return self._changes_to_lost_user()
        parts = []
        restored = [a for a in self.attached if a not in self.taken_back]
        restored += [
            f"inline policy {p.name}"
            for p in self.put
            if f"inline policy {p.name}" not in self.taken_back
        ]
        if restored:
            parts.append(f"Attached directly to {self.user_name}: {', '.join(restored)}.")
        if self.left:
            parts.append(f"{self.user_name} left {', '.join(self.left)}.")
        staying = [
            name
            for name in self.plan.group_names
            if name not in self.left and name not in self.revoked
        ]
        if staying and self.writes:
            parts.append(
                f"{self.user_name} is still in {', '.join(staying)}: it holds those policies "
                "twice, directly and through the group, which grants nothing more."
            )
        return " ".join(parts) or "Nothing this run changed is left in place."

    def _changes_to_lost_user(self) -> str:
        """What this run changed on the planned user ID, described without its former name."""
        done = [a for a in self.attached if a not in self.taken_back]
        done += [f"inline policy {p.name}" for p in self.put]
        parts = [f"attached {', '.join(done)}"] if done else []
        if self.left:
            parts.append(f"removed it from {', '.join(self.left)}")
        if not parts:
            return "Nothing this run changed is left on any user."
        return (
            f"Before that, this run {' and '.join(parts)} for user ID {self.user_id}: a renamed "
            "user still has those changes, a deleted one took them with it."
        )

    def stop(self, reason: str) -> NoReturn:
        """Raise the run's outcome: refused if nothing was changed yet, else stopped part-way."""
        raise self.failure(reason)

    def failure(self, reason: str) -> RemediationRefused | RemediationStopped:
        """The run's outcome: refused if nothing was changed yet, else stopped part-way."""
        if not self.writes:
            return RemediationRefused(f"{reason} Nothing was changed.")
        return RemediationStopped(f"{reason} {self.changes()}")


def _method(action: str) -> str:
    return str(xform_name(action))


def restore_user_policies(
    iam_client: IAMClient, request: UndoRequest, *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Undo the move for the user (or only plan it, for a dry run); return the result."""
    user_name, user_id = resolve_user(iam_client, request.user_id, request.user_name)
    try:
        user, quotas = read_undo_state(iam_client, user_name, user_id, request.group_path)
    except ClientError as error:
        gone = user_gone(iam_client, error, user_name, user_id, "and nothing is left to undo")
        raise gone from error
    if quotas is None:
        return _result(user_name, user_id, NOTHING_TO_RESTORE, None)
    plan = plan_undo(user, quotas, request.group_path)
    if request.dry_run:
        return _result(user_name, user_id, PLANNED, plan)
    restored = UndoRun(iam_client, plan).execute(sleep)
    return _result(user_name, user_id, RESTORED, plan, restored)


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the undo: parse the payload, restore, return the result."""
    request = parse_undo_payload(event)
    result = restore_user_policies(new_iam_client(), request)
    LOGGER.info("undo result: %s", json.dumps(result))
    return result
