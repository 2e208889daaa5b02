"""Perform a plan's IAM actions, guarded against what others change about the user meanwhile.

The planner (``plan``) decides from one read of the user; IAM has no
conditional write, so between that read and each write an administrator may
revoke a policy, or delete the user and create another under the same name.
``MoveRun`` performs the plan in order and re-reads where it matters
(``plan``'s docstring states what this guarantees and what it cannot):

- before and right after each ``AddUserToGroup``, and before the first removal:
  the name still belongs to the planned user ID, and every policy the run's
  groups carry is still on the user; a revoked one is taken back (the user
  leaves the groups this run added it to that carry it) and the run stops;
- before every other write that names the user: the name's user ID;
- a removal that finds its policy already gone is a revocation unless no group
  of this run carries the policy.

A stop raises ``RemediationStopped`` naming what this run changed, or
``RemediationRefused`` when it had changed nothing yet.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore import xform_name
from botocore.exceptions import ClientError

from no_direct_policies.move.iam_reads import (
    attached_user_policy_arns,
    error_code,
    read_group,
    read_user_groups,
    user_id_of,
    user_inline_policies,
)
from no_direct_policies.move.plan import (
    Action,
    GroupSpec,
    InlinePolicy,
    Plan,
    RemediationRefused,
    RemediationStopped,
    check_group,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)  # every IAM change is logged: the audit trail of the move
VERIFY_DELAYS = (0.5, 1.0, 2.0, 4.0)  # read-back retries while IAM becomes consistent

_NAMES_USER = ("AddUserToGroup", "DetachUserPolicy", "DeleteUserPolicy")


def perform_action(iam_client: IAMClient, action: Action, specs: Mapping[str, GroupSpec]) -> bool:
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
            raise RemediationRefused(
                f"Group {spec.name} cannot be created: IAM reports that a group of that name "
                "exists (group names that differ only in case are the same name), but it "
                "cannot be read. Nothing was added to the user. Run the remediation again, "
                "or rename that group or run with another GroupNamePrefix."
            ) from error
        check_group(spec, state)
        return False
    return bool(action["Action"] == "CreateGroup")


def unverified(iam_client: IAMClient, plan: Plan) -> list[str]:
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


@dataclass(frozen=True)
class _Direct:
    """What is on the user directly now: managed ARNs and (when moving them) inline policies."""

    arns: frozenset[str]
    inline: frozenset[InlinePolicy]


def _named(
    arns: set[str] | frozenset[str], inline: set[InlinePolicy] | frozenset[InlinePolicy]
) -> str:
    return ", ".join([*sorted(arns), *(f"inline policy {p.name}" for p in sorted(inline))])


class MoveRun:
    """One execution of a plan: what it changed so far, and the guards around each write."""

    def __init__(self, iam_client: IAMClient, plan: Plan, specs: Mapping[str, GroupSpec]) -> None:
        self.iam = iam_client
        self.plan = plan
        self.specs = specs
        self.user_name, self.user_id = plan.user.user_name, plan.user.user_id
        self.created: list[str] = []
        self.added: list[str] = []  # groups this run added the user to
        self._unconfirmed: list[str] = []  # added since the user's ID was last confirmed
        self.removed_arns: set[str] = set()
        self.removed_inline: set[str] = set()
        self.writes = 0
        # What each group of this run carries, by lower-case name (IAM ignores case).
        self._carried = {
            spec.name.lower(): (frozenset(spec.policy_arns), frozenset(spec.inline_policies))
            for spec in plan.new_groups
        }
        self._checked = False  # the user was checked and nothing was written since

    def execute(self, sleep: Callable[[float], None]) -> None:
        """Adding actions, read-back, removals: each write that names the user guarded."""
        for action in self.plan.setup_actions:
            if action["Action"] == "AddUserToGroup":
                self.check_user()
            self._write(action)
        if self.added:
            self.check_user()  # right after the last AddUserToGroup
        self._verify(sleep)
        for index, action in enumerate(self.plan.removal_actions):
            if index == 0:
                self.check_user(force=True)  # a revocation during the read-back is seen here
            else:
                self.confirm_identity()
            self._write(action)

    def _write(self, action: Action) -> None:
        try:
            created = perform_action(self.iam, action, self.specs)
        except RemediationRefused as refusal:  # a racing run's group that cannot be used
            if self.writes:
                raise RemediationStopped(f"{refusal.reason} {self.changes()}") from refusal
            raise
        except ClientError as error:
            if error_code(error) != "NoSuchEntity" or action["Action"] not in _NAMES_USER:
                raise
            self.confirm_identity()  # a user deleted or renamed meanwhile stops here
            if action["Action"] == "AddUserToGroup":
                raise  # the user is there, so the group is not: fail loudly
            self._removal_found_nothing(action, error)
            return
        if action["Action"] == "CreateGroup" and not created:
            return  # another run's group, checked: nothing was changed
        self.writes += 1
        self._checked = False
        name = action["Action"]
        if name == "CreateGroup":
            self.created.append(action["GroupName"])
        elif name == "AddUserToGroup":
            self.added.append(action["GroupName"])
            self._unconfirmed.append(action["GroupName"])
        elif name == "DetachUserPolicy":
            self.removed_arns.add(action["PolicyArn"])
        elif name == "DeleteUserPolicy":
            self.removed_inline.add(action["PolicyName"])

    def _verify(self, sleep: Callable[[float], None]) -> None:
        """Read back until every moved policy reaches the user through a group (bounded)."""
        for delay in (*VERIFY_DELAYS, None):
            try:
                problems = unverified(self.iam, self.plan)
            except ClientError as error:
                if error_code(error) == "NoSuchEntity":
                    self.confirm_identity()  # stops when the user is gone
                raise
            if not problems:
                return
            if delay is not None:
                sleep(delay)
        self.confirm_identity()  # the read-back of a user replaced meanwhile fails too
        self.stop(
            f"the read-back after adding {self.user_name} to {', '.join(self.plan.groups)} "
            f"failed: {'; '.join(problems)}. The policies are still attached to the user, so "
            "nothing was lost; run the remediation again."
        )

    def confirm_identity(self) -> None:
        """Stop unless the user's name still belongs to the planned user ID.

        Memberships added since the last confirmation may belong to a new user of that
        name: they are removed first, so the new principal is granted nothing.
        """
        found = user_id_of(self.iam, self.user_name)
        if found == self.user_id:
            self._unconfirmed.clear()
            return
        removed = [name for name in self._unconfirmed if self._leave_group(name)]
        # Memberships confirmed earlier are the planned user's: they went with it (deleted),
        # or stay with its policies (renamed); either way the name no longer holds them.
        self.added, self._unconfirmed = [], []
        if found is None:
            what = "was deleted or renamed during the remediation"
        else:
            what = (
                f"was replaced during the remediation: the name now belongs to another user "
                f"({found}), which this run granted nothing"
            )
        taken = f" Removed {self.user_name} from {', '.join(removed)} again." if removed else ""
        self.stop(
            f"IAM user {self.user_name} ({self.user_id}) {what}.{taken} "
            f"Nothing is left to remediate for {self.user_id}."
        )

    def check_user(self, *, force: bool = False) -> None:
        """Confirm the user's ID, then that no policy this run moves was revoked meanwhile."""
        if self._checked and not force:
            return
        direct = self._read_direct()
        revoked_arns, revoked_inline = self._revoked(direct)
        if revoked_arns or revoked_inline:
            self._take_back(revoked_arns, revoked_inline, direct)
        self._checked = True

    def _read_direct(self) -> _Direct:
        """The user's direct policies, then its ID: the reads were of the planned user.

        A user ID is never reused, so the name maps to the planned ID after the reads only
        if it did throughout them.
        """
        try:
            inline = (
                user_inline_policies(self.iam, self.user_name)
                if self.plan.moved_inline_policies
                else frozenset()
            )
            direct = _Direct(frozenset(attached_user_policy_arns(self.iam, self.user_name)), inline)
        except ClientError as error:
            if error_code(error) == "NoSuchEntity":
                self.confirm_identity()  # stops when the user is gone
            raise
        self.confirm_identity()
        return direct

    def _revoked(self, direct: _Direct) -> tuple[set[str], set[InlinePolicy]]:
        """Policies a group of this run carries that left the user other than by this run."""
        arns = {arn for carried, _ in self._carried.values() for arn in carried}
        inline = {policy for _, carried in self._carried.values() for policy in carried}
        return (
            {arn for arn in arns - direct.arns if arn not in self.removed_arns},
            {p for p in inline - direct.inline if p.name not in self.removed_inline},
        )

    def _removal_found_nothing(self, action: Action, error: ClientError) -> None:
        """A detach or delete found nothing: already removed, or revoked by someone else."""
        direct = self._read_direct()
        if action["Action"] == "DetachUserPolicy":
            still_on_user = action["PolicyArn"] in direct.arns
        else:
            still_on_user = action["PolicyName"] in {p.name for p in direct.inline}
        if still_on_user:
            raise error
        revoked_arns, revoked_inline = self._revoked(direct)
        if revoked_arns or revoked_inline:
            self._take_back(revoked_arns, revoked_inline, direct)
        # No group of this run carries it: it reaches the user as before, through its own group.
        LOGGER.info("IAM %s: already removed from the user", json.dumps(action))

    def _take_back(
        self, revoked_arns: set[str], revoked_inline: set[InlinePolicy], direct: _Direct
    ) -> None:
        """Undo what this run's groups grant back of a revocation, where nothing is lost; stop.

        The user leaves a group this run added it to that carries a revoked policy, but
        only when every other policy the group carries is still on the user directly.
        """
        taken, kept = [], []
        for name in self.added:
            arns, inline = self._carried.get(name.lower(), (frozenset(), frozenset()))
            if not (arns & revoked_arns or inline & revoked_inline):
                continue
            lost_arns = arns - revoked_arns - direct.arns
            lost_inline = inline - revoked_inline - direct.inline
            if lost_arns or lost_inline:
                kept.append(f"{name} (it also carries {_named(lost_arns, lost_inline)})")
            elif self._leave_group(name):
                taken.append(name)
        self.added = [name for name in self.added if name not in taken]
        revoked = _named(revoked_arns, revoked_inline)
        text = (
            f"{revoked} left IAM user {self.user_name} during the remediation (revoked, "
            "or its inline document changed); the change stands."
        )
        if taken:
            text += f" Removed {self.user_name} from {', '.join(taken)}, which carries it."
        if kept:
            text += (
                f" {self.user_name} is still in {', '.join(kept)}, policies this run had "
                f"already detached from {self.user_name}: leaving would lose them, so "
                f"{revoked} still reaches {self.user_name} through that group. If another run "
                "of this remediation removed it, nothing is wrong; if it was revoked, remove "
                f"{self.user_name} from that group and attach the policies it should keep "
                "directly, then run the remediation again."
            )
        else:
            text += f" Run the remediation again to move what remains on {self.user_name}."
        self.stop(text)

    def _leave_group(self, group: str) -> bool:
        """Remove the user's name from a group; False if IAM finds no such membership."""
        LOGGER.info("IAM %s", json.dumps({"Action": "RemoveUserFromGroup", "GroupName": group}))
        try:
            self.iam.remove_user_from_group(GroupName=group, UserName=self.user_name)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            return False
        return True

    def changes(self) -> str:
        """What this run changed that is still in place, for a stop's message."""
        parts = []
        if self.created:
            parts.append(f"Groups created and left in place: {', '.join(self.created)}.")
            if set(self.created) - set(self.added):
                parts.append(
                    "A group without members grants nobody anything; a later run for a user "
                    "with the same policies reuses it; delete it if no one needs it."
                )
        if self.added:
            parts.append(f"{self.user_name} is in {', '.join(self.added)}.")
        inline = {p for p in self.plan.moved_inline_policies if p.name in self.removed_inline}
        removed = _named(self.removed_arns, inline)
        if removed:
            parts.append(f"Moved off {self.user_name}: {removed}.")
        return " ".join(parts) or "Nothing this run changed is left in place."

    def stop(self, reason: str) -> None:
        """Raise the run's outcome: refused if nothing was changed yet, else stopped part-way."""
        if not self.writes:
            raise RemediationRefused(f"{reason} Nothing was changed.")
        raise RemediationStopped(f"{reason} {self.changes()}")
