"""Undo's safety argument: a pure planner from IAM state to the ordered IAM actions of an undo.

The move (``plan``) puts a user's directly attached policies on groups that
live under the remediation's path, each carrying exactly one policy set. The
undo takes them back: for one user, every policy of every remediation group
it is in is attached to the user directly again (inline policies put back),
read back, and only then does the user leave those groups. ``plan_undo`` takes
what the executor (``undo``) read and returns the actions, or raises
``RemediationRefused`` before anything is changed. It makes no API call.

Invariants and how each is guaranteed (the move's, reversed):

1. Nothing lost - at every moment, for every user, the policies that reach it
   include everything they did before, except what someone else revokes. The
   plan has two phases: ``restore_actions`` (``AttachUserPolicy``,
   ``PutUserPolicy``) only add; ``removal_actions`` (``RemoveUserFromGroup``)
   run only after the executor has read back that every policy the group
   carries reaches the user directly. No policy is detached from a group and
   no group is deleted: a group may gain a member at any moment, and
   detaching from it would strip that member (rule 8). Other members of a
   remediation group keep it: only this user's membership is removed.
2. Nothing gained - afterwards exactly the same policies reach the user: the
   restored set is exactly what its remediation groups carry, which reached
   the user through them. An inline policy is put back only under a name the
   user does not use for another document (``PutUserPolicy`` would replace that
   document: a loss); a name in use with the same document is already restored.
   The executor reads the name again (``GetUserPolicy``) right before each
   ``PutUserPolicy``: another document there now stops the undo, nothing
   replaced; the same document skips the put.
3. Only the remediation's groups - a group counts only when its path is the
   remediation's path exactly (the move creates its groups there and nowhere
   else); a membership in any other group is never planned for removal. A user
   in no such group gets an empty plan (``NOTHING_TO_RESTORE``): users that never
   went through a remediation are not touched.
4. Quotas before any change - the user's directly attached policies after the
   undo must fit ``AttachedPoliciesPerUserQuota``, and its inline policies
   ``UserPolicySizeQuota`` (characters without whitespace, all inline policies
   of the user together), both live from ``GetAccountSummary``; otherwise the
   undo is refused. IAM would refuse the attach part-way anyway; refusing first
   leaves nothing half-done.
5. Idempotent - a policy already attached directly (or an inline policy
   already there with the same document) produces no action; a re-run after any
   interruption finds the user in fewer groups and resumes; once it has left
   them all, the plan is empty.
6. Exempt policies never left the user, so they are not in any group: nothing
   to do for them.
7. A change made during the undo stands (the executor re-reads; see ``undo``):
   - the user's name must belong to the planned user ID (``GetUser``) before
     every write that names it; on a mismatch the policies attached since the
     last confirmation are detached again (they may be a new principal's) and
     the undo stops;
   - right before leaving a group, its policies are read again. A policy this
     run restored that the group no longer carries was revoked from its members
     during the undo: it is detached from the user again (unless another of the
     user's remediation groups still carries it), so the revocation stands. A
     policy the group gained meanwhile is not on the user directly: the user
     stays in that group (nothing lost) and the undo stops; a re-run restores it;
   - with the group, the user's memberships are read again (``ListGroupsForUser``).
     A user removed from the group during the undo (or a ``NoSuchEntity`` on its
     ``RemoveUserFromGroup``) was revoked that group: what this run attached for
     it is detached again, unless another of the user's remediation groups still
     carries it, and the undo stops;
   - the user's direct policies are read again right before it leaves a group
     (the read-back may be stale by then): a policy the group carries that is no
     longer on the user directly keeps the user in the group, and the undo stops.
     They are read once more right after it left: if one went meanwhile, the user
     is added back to the group (``AddUserToGroup``) and the undo stops;
   - at the end the user's groups under the path are listed again: a user that
     joined one during the undo is not reported restored; the undo stops and a
     re-run restores that group's policies.
8. Groups stay. A remediation group left without members is not deleted:
   deleting it means detaching its policies first, and a member added between
   the read of its members and a detach would lose that policy (IAM has no
   conditional write). A memberless group grants nobody anything, the next move
   of a user with that policy set reuses it, and an administrator may delete it.

Residual risks, each for a reason IAM imposes:

- A policy revoked from a group between the executor's last read of that group
  and the user's ``RemoveUserFromGroup`` (two calls) stays attached to the user
  directly: the revocation reached the group after the user's copy was made.
- A policy revoked from a group after the planning read of that group and
  before the re-read right before the user leaves it reaches the user directly
  until that re-read (two calls per restored policy at most); then it is
  taken back.
- A user removed from a remediation group after the planning read holds what
  this run attached for that group directly until the membership is read again
  before leaving it (up to two calls per restored policy and the read-back);
  then it is taken back.
- A policy the group carries, removed from the user directly between the read
  of its direct policies right before ``RemoveUserFromGroup`` and that call, is
  lost from the removal until the user is added back to the group (three
  calls: the removal, the read after it and ``GetUser``).
- An inline document put on the user under a restored name between the
  ``GetUserPolicy`` and the ``PutUserPolicy`` right after it (one call) is
  replaced: IAM has no conditional put.
- A user replaced under its name between the ``GetUser`` and the attach right
  after it: the new principal holds that one policy until the next ``GetUser``
  (one call), which takes it back. If the new principal already had that
  policy attached directly, the take-back detaches its own attachment too:
  ``AttachUserPolicy`` is idempotent and does not say whether it added anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from no_direct_policies.move.plan import (
    DEFAULT_GROUP_PATH,
    Action,
    GroupState,
    InlinePolicy,
    RemediationRefused,
    UserState,
)

_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class UndoQuotas:
    """The account's live per-user quotas (``GetAccountSummary``'s ``SummaryMap``)."""

    attached_policies_per_user: int
    user_policy_size: int

    @classmethod
    def from_summary_map(cls, summary: Mapping[str, int]) -> UndoQuotas:
        """Read the values the undo planner needs from ``GetAccountSummary``."""
        return cls(
            attached_policies_per_user=summary["AttachedPoliciesPerUserQuota"],
            user_policy_size=summary.get("UserPolicySizeQuota", 2048),
        )


@dataclass(frozen=True)
class UndoPlan:
    """Ordered actions: ``restore_actions`` only add, ``removal_actions`` only remove."""

    user: UserState
    groups: tuple[GroupState, ...]  # the user's remediation groups, as read
    restored_policy_arns: tuple[str, ...]  # every managed policy those groups carry
    restored_inline_policies: tuple[InlinePolicy, ...]
    restore_actions: tuple[Action, ...] = ()
    removal_actions: tuple[Action, ...] = ()

    @property
    def actions(self) -> list[Action]:
        """Every action in execution order."""
        return [*self.restore_actions, *self.removal_actions]

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(group.name for group in self.groups)


def remediation_groups(user: UserState, group_path: str) -> tuple[GroupState, ...]:
    """The user's groups that the remediation made: those whose path is exactly its path."""
    return tuple(sorted((g for g in user.groups if g.path == group_path), key=lambda g: g.name))


def policy_size(policy: InlinePolicy) -> int:
    """How IAM counts an inline policy against the size quota: characters but whitespace."""
    return len(_WHITESPACE.sub("", policy.document))


def plan_undo(
    user: UserState, quotas: UndoQuotas, group_path: str = DEFAULT_GROUP_PATH
) -> UndoPlan:
    """Plan the undo for the user, or refuse before any change.

    ``user`` must have been read with the inline policies of the user and of its
    groups (``read_user(..., with_inline=True)``).
    """
    groups = remediation_groups(user, group_path)
    arns = tuple(sorted({arn for group in groups for arn in group.policy_arns}))
    inline = _inline_to_restore(user, groups)
    direct = set(user.attached_policy_arns)
    attach = [arn for arn in arns if arn not in direct]
    have = set(user.inline_policies)
    put = [policy for policy in inline if policy not in have]
    _check_quotas(user, quotas, attach, put)
    restore: list[Action] = [
        {"Action": "AttachUserPolicy", "UserName": user.user_name, "PolicyArn": arn}
        for arn in attach
    ]
    restore.extend(
        {
            "Action": "PutUserPolicy",
            "UserName": user.user_name,
            "PolicyName": policy.name,
            "PolicyDocument": policy.document,
        }
        for policy in put
    )
    removal: list[Action] = [
        {"Action": "RemoveUserFromGroup", "GroupName": group.name, "UserName": user.user_name}
        for group in groups
    ]
    return UndoPlan(
        user=user,
        groups=groups,
        restored_policy_arns=arns,
        restored_inline_policies=inline,
        restore_actions=tuple(restore),
        removal_actions=tuple(removal),
    )


def _inline_to_restore(user: UserState, groups: tuple[GroupState, ...]) -> tuple[InlinePolicy, ...]:
    """The groups' inline policies, refused when a name would stand for two documents."""
    by_name: dict[str, InlinePolicy] = {}
    conflicts = []
    for group in groups:
        for policy in sorted(group.inline_policies):
            known = by_name.setdefault(policy.name, policy)
            if known != policy:
                conflicts.append(f"{policy.name} (two remediation groups carry other documents)")
    on_user = {policy.name: policy for policy in user.inline_policies}
    for name, policy in sorted(by_name.items()):
        if name in on_user and on_user[name] != policy:
            conflicts.append(f"{name} (the user has another document under that name)")
    if conflicts:
        raise RemediationRefused(
            f"Inline policies cannot be put back on {user.user_name} without replacing "
            f"another document: {', '.join(conflicts)}. Nothing was changed. Rename the "
            "user's inline policy, or attach what it needs by hand."
        )
    return tuple(by_name[name] for name in sorted(by_name))


def _check_quotas(
    user: UserState, quotas: UndoQuotas, attach: list[str], put: list[InlinePolicy]
) -> None:
    """Refuse when the user cannot hold the restored policies directly."""
    direct = len(set(user.attached_policy_arns))
    if attach and direct + len(attach) > quotas.attached_policies_per_user:
        raise RemediationRefused(
            f"User {user.user_name} has {direct} managed policies attached directly and the "
            f"undo would attach {len(attach)} more, over AttachedPoliciesPerUserQuota "
            f"({quotas.attached_policies_per_user}). Nothing was changed. Detach policies the "
            "user no longer needs, or ask AWS Support to raise the quota."
        )
    size = sum(policy_size(p) for p in {*user.inline_policies, *put})
    if put and size > quotas.user_policy_size:
        raise RemediationRefused(
            f"User {user.user_name}'s inline policies would total {size} characters, over "
            f"UserPolicySizeQuota ({quotas.user_policy_size}). Nothing was changed. Delete "
            "inline policies the user no longer needs, or keep it in the remediation group."
        )
