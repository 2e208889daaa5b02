"""The remediation's safety argument: a pure planner from IAM state to ordered IAM actions.

``plan_move`` takes what the executor read (the user, the groups it is in, the
groups the plan would use, the account's quotas) and returns the exact IAM API
actions to perform, or raises ``RemediationRefused`` before anything is changed.
It makes no API call, so every rule below can be read and tested here alone;
rules 7 and 8 say how the executor (``executor``) keeps them while others
change IAM during a run.

Invariants and how each is guaranteed:

1. Nothing lost - at every moment, for every user, the policies that reach it
   (directly or through groups) include everything it had before, except what
   someone else revokes. The plan is two ordered phases: ``setup_actions``
   (create group, attach policies, put inline policies, add user to group) only
   ever add; ``removal_actions`` (detach, delete inline) run only after the
   executor has read back that every moved policy reaches the user through a
   group. Policies that already reach the user through a group it is in are
   only removed from the user. No policy is ever detached from a group, since
   a group may gain a member at any moment; a user leaves a group only as in 7.
2. Nothing gained - afterwards exactly the same policies reach the user. A
   group is used only if its attached managed policies and inline policies
   equal the set it is meant to carry (``check_group``); a pre-existing group
   with anything else, or under another path, is refused, never reused. A group
   that holds only part of its set (an interrupted or concurrent run) is
   completed only while it has no members, so completing it grants nobody
   anything. IAM group names are unique regardless of case: a group found under
   the planned name in another case is that group, checked the same way, and
   is then named as IAM knows it.
3. Consolidation - a group's name is derived from its policy set alone
   (``group_name``), so users with the same set land in the same group, and two
   runs racing for one name meet at the same group, which rule 2 verifies.
4. Quotas before any change - sets larger than ``AttachedPoliciesPerGroupQuota``
   are split in ARN order into fixed chunks; the user's ``GroupsPerUserQuota``
   and the account's ``GroupsQuota`` are checked against the live values from
   ``GetAccountSummary`` and the plan is refused if either would be exceeded.
5. Idempotent - a user with nothing left to move gets an empty plan
   (``NOTHING_TO_MOVE``); groups and memberships that already exist produce no
   action, so a re-run after any interruption resumes where it stopped.
6. Exempt policies (``ExemptPolicyArns``) are never moved.
7. A change made to the user during a run stands. IAM has no conditional write,
   so the executor re-reads where it matters:
   - The user's name must belong to the planned user ID (``GetUser``) before
     every write that names it and after each ``AddUserToGroup``; IDs are never
     reused, so a name that maps to the planned ID after a call did so during
     it. On a mismatch (user deleted, renamed, or replaced by a new user of the
     same name) the run first removes the memberships it added since the last
     confirmation - they may be the new principal's - then stops.
   - The user's direct policies (and inline documents, when moving them) are
     read right before and right after each ``AddUserToGroup`` and before the
     first removal. A policy a group of this run carries that left the user
     other than by this run's removal is revoked (a changed inline document
     counts as revoked): the user leaves each group this run added it to that
     carries it, provided every other policy that group carries is still on the
     user directly (so leaving loses nothing), and the run stops.
   - A removal that finds its policy already gone is the same revocation; if
     no group of this run carries the policy, it still reaches the user as
     before through its own group, and the run goes on.
8. A deleted user's groups stay. A group created for a user deleted mid-run is
   left in place and reported; without members it grants nobody anything, and
   a later run for a user with the same set reuses it (rule 2).

Outcomes: ``RemediationRefused`` ("Refused: ...") is raised before any IAM
change; ``RemediationStopped`` ("Stopped part-way: ...") after some change, at
a point where rules 1 and 2 hold; its message lists what stays in place
(groups created, memberships, policies already moved) and what to do.

Residual risks, each for a reason IAM imposes:

- A policy revoked in the instant between the read before ``AddUserToGroup``
  and that call reaches the user through the group until the read right after
  it (two calls); the run then takes it back.
- A policy revoked after the read before the first removal, once another
  policy of the same group has been detached from the user, cannot be taken
  back without losing that other policy: the user stays in the group, the
  revoked policy still reaches it, and the stop message names both and says
  how to finish. A policy this run already detached cannot be revoked from the
  user directly any more: the administrator's own call fails (NoSuchEntity).
- Two runs for the same user at once cannot tell the other's detach from a
  revocation: the first to notice takes the user out of the group it added it
  to, and the policies the other run had already detached stop reaching the
  user; the stop message names them. Config starts one remediation per user
  at a time (another start gets RemediationInProgressException); only a run
  started beside it (the CLI, or the document started directly) can overlap.
- A user replaced under its name between the ``GetUser`` and the write right
  after it: a detach or delete then acts on the new principal (removing, never
  granting); an ``AddUserToGroup`` is undone by the check right after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_GROUP_PATH = "/config-remediation/"
DEFAULT_GROUP_NAME_PREFIX = "MovedPolicies-"
GROUP_NAME_LIMIT = 128  # IAM's maximum group name length
_DIGEST_LENGTH = 12  # 48 bits of SHA-256: collisions between policy sets are not a concern

Action = dict[str, Any]


class RemediationError(Exception):
    """The remediation did not complete; see the two subclasses for what IAM looks like then."""


class RemediationRefused(RemediationError):
    """A refusal (quota, conflict, bad payload, missing user), raised before any IAM change.

    The message starts with "Refused:" so that every surface (the helper's error text, the
    SSM document's failure, the CLI) shows which of the two outcomes it is.
    """

    MARKER = "Refused"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{self.MARKER}: {reason}")
        self.reason = reason


class RemediationStopped(RemediationError):
    """A stop part-way, at a safe point: some IAM changes were made, none lost or granted access.

    The message starts with "Stopped part-way:", names what was changed (for example a
    memberless group left in place) and what to do next; re-running the remediation resumes
    or reports the new state.
    """

    MARKER = "Stopped part-way"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{self.MARKER}: {reason}")
        self.reason = reason


@dataclass(frozen=True, order=True)
class InlinePolicy:
    """An inline policy: its name and its document as canonical JSON (key order fixed)."""

    name: str
    document: str

    @classmethod
    def from_document(cls, name: str, document: Any) -> InlinePolicy:
        """Build from a document as IAM returns it (a dict, or a JSON string)."""
        parsed = json.loads(document) if isinstance(document, str) else document
        # Non-ASCII text stays as it is: escaping it (\u00e9) could make the copy several times
        # longer than the user's document and push it past the group's inline size quota.
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return cls(name, canonical)


@dataclass(frozen=True)
class GroupState:
    """An existing IAM group as read from IAM."""

    name: str
    path: str
    policy_arns: frozenset[str]
    inline_policies: frozenset[InlinePolicy] = frozenset()
    member_names: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UserState:
    """The user as read from IAM, with the groups it is in."""

    user_name: str
    user_id: str
    attached_policy_arns: tuple[str, ...]
    inline_policies: tuple[InlinePolicy, ...] = ()
    groups: tuple[GroupState, ...] = ()


@dataclass(frozen=True)
class Quotas:
    """The account's live IAM quotas and usage (``GetAccountSummary``'s ``SummaryMap``)."""

    attached_policies_per_group: int
    groups_per_user: int
    groups_quota: int
    groups_in_account: int

    @classmethod
    def from_summary_map(cls, summary: Mapping[str, int]) -> Quotas:
        """Read the four values the planner needs from ``GetAccountSummary``."""
        return cls(
            attached_policies_per_group=summary["AttachedPoliciesPerGroupQuota"],
            groups_per_user=summary["GroupsPerUserQuota"],
            groups_quota=summary["GroupsQuota"],
            groups_in_account=summary["Groups"],
        )


@dataclass(frozen=True)
class MoveOptions:
    """How to move: where groups live, how they are named, what stays on the user."""

    group_path: str = DEFAULT_GROUP_PATH
    group_name_prefix: str = DEFAULT_GROUP_NAME_PREFIX
    exempt_policy_arns: frozenset[str] = frozenset()
    move_inline_policies: bool = False


@dataclass(frozen=True)
class GroupSpec:
    """A group the plan needs: its deterministic name and the exact set it must carry."""

    name: str
    path: str
    policy_arns: tuple[str, ...]
    inline_policies: tuple[InlinePolicy, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Ordered actions: ``setup_actions`` only add, ``removal_actions`` only remove."""

    user: UserState
    groups: tuple[str, ...]
    new_groups: tuple[GroupSpec, ...]
    moved_policy_arns: tuple[str, ...]
    moved_inline_policies: tuple[InlinePolicy, ...]
    setup_actions: tuple[Action, ...] = ()
    removal_actions: tuple[Action, ...] = ()

    @property
    def actions(self) -> list[Action]:
        """Every action in execution order."""
        return [*self.setup_actions, *self.removal_actions]


def policies_to_move(
    user: UserState, options: MoveOptions
) -> tuple[tuple[str, ...], tuple[InlinePolicy, ...]]:
    """The user's non-exempt managed policy ARNs (sorted) and, if asked, its inline policies."""
    arns = tuple(sorted(set(user.attached_policy_arns) - options.exempt_policy_arns))
    inline = tuple(sorted(user.inline_policies)) if options.move_inline_policies else ()
    return arns, inline


def group_name(prefix: str, policy_arns: Sequence[str], inline: Sequence[InlinePolicy]) -> str:
    """A group name determined by the policy set alone: readable names plus a digest."""
    identity = json.dumps(
        {"managed": sorted(policy_arns), "inline": [[p.name, p.document] for p in sorted(inline)]}
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:_DIGEST_LENGTH]
    readable = "+".join(arn.rsplit("/", 1)[-1] for arn in sorted(policy_arns)) or "inline"
    room = GROUP_NAME_LIMIT - len(prefix) - len(digest) - 1
    return f"{prefix}{readable[:room]}-{digest}"


def group_specs(
    policy_arns: Sequence[str], inline: Sequence[InlinePolicy], options: MoveOptions, per_group: int
) -> tuple[GroupSpec, ...]:
    """Split the set into groups of at most ``per_group`` managed policies, in ARN order.

    Inline policies go to the first group: a user's inline policies (2,048
    characters in all) always fit a group's inline allowance (5,120).
    """
    if per_group < 1:
        raise RemediationRefused(
            f"AttachedPoliciesPerGroupQuota is {per_group}; groups cannot hold policies."
        )
    ordered = sorted(policy_arns)
    chunks = [tuple(ordered[i : i + per_group]) for i in range(0, len(ordered), per_group)]
    if not chunks:
        chunks = [()]
    specs = []
    for index, chunk in enumerate(chunks):
        chunk_inline = tuple(sorted(inline)) if index == 0 else ()
        name = group_name(options.group_name_prefix, chunk, chunk_inline)
        specs.append(GroupSpec(name, options.group_path, chunk, chunk_inline))
    return tuple(specs)


def check_group(spec: GroupSpec, state: GroupState) -> None:
    """Accept an existing group only if it is the spec's group, complete or memberless-partial.

    Raises RemediationRefused naming the difference otherwise: such a group is never used.
    """
    wanted_arns, wanted_inline = frozenset(spec.policy_arns), frozenset(spec.inline_policies)
    problems = []
    if state.path != spec.path:
        problems.append(f"its path is {state.path}, not {spec.path}")
    if extra := sorted(state.policy_arns - wanted_arns):
        problems.append(f"it has other managed policies attached: {', '.join(extra)}")
    if extra_inline := sorted(p.name for p in state.inline_policies - wanted_inline):
        problems.append(f"it has other inline policies: {', '.join(extra_inline)}")
    partial = state.policy_arns != wanted_arns or state.inline_policies != wanted_inline
    if partial and state.member_names:
        problems.append(
            "it holds only part of the set and already has members "
            f"({', '.join(sorted(state.member_names))})"
        )
    if problems:
        raise RemediationRefused(
            f"Group {spec.name} exists but cannot be used: {'; '.join(problems)}. "
            "Reusing it would change other users' permissions. "
            "Rename or fix that group, or run with another GroupNamePrefix."
        )


def _covering(user: UserState) -> tuple[frozenset[str], frozenset[InlinePolicy]]:
    """What already reaches the user through its groups (inline compared by document)."""
    arns = frozenset(arn for group in user.groups for arn in group.policy_arns)
    documents = frozenset(p.document for group in user.groups for p in group.inline_policies)
    inline = frozenset(p for p in user.inline_policies if p.document in documents)
    return arns, inline


def plan_move(
    user: UserState,
    options: MoveOptions,
    quotas: Quotas,
    existing: Mapping[str, GroupState | None],
) -> Plan:
    """Plan the move of the user's policies to groups, or refuse before any change.

    ``existing`` maps each name from ``required_group_specs`` to the group's
    state, or to None when no such group exists.
    """
    arns, inline = policies_to_move(user, options)
    specs = required_group_specs(user, options, quotas)
    member_of = {group.name.lower() for group in user.groups}  # names are case-insensitive
    setup: list[Action] = []
    new_memberships = 0
    to_create = 0
    names_used: list[str] = []  # each spec's group under the name IAM knows it by
    for spec in specs:
        state = existing[spec.name]
        if state is None:
            to_create += 1
            name = spec.name
            setup.append({"Action": "CreateGroup", "GroupName": name, "Path": spec.path})
            present_arns: frozenset[str] = frozenset()
            present_inline: frozenset[InlinePolicy] = frozenset()
        else:
            check_group(spec, state)
            name = state.name
            present_arns, present_inline = state.policy_arns, state.inline_policies
        names_used.append(name)
        setup.extend(
            {"Action": "AttachGroupPolicy", "GroupName": name, "PolicyArn": arn}
            for arn in spec.policy_arns
            if arn not in present_arns
        )
        setup.extend(
            {
                "Action": "PutGroupPolicy",
                "GroupName": name,
                "PolicyName": policy.name,
                "PolicyDocument": policy.document,
            }
            for policy in spec.inline_policies
            if policy not in present_inline
        )
    for name in names_used:
        if name.lower() not in member_of:
            new_memberships += 1
            setup.append(
                {"Action": "AddUserToGroup", "GroupName": name, "UserName": user.user_name}
            )
    _check_quotas(user, quotas, new_memberships, to_create)
    removal: list[Action] = [
        {"Action": "DetachUserPolicy", "UserName": user.user_name, "PolicyArn": arn} for arn in arns
    ]
    removal.extend(
        {"Action": "DeleteUserPolicy", "UserName": user.user_name, "PolicyName": policy.name}
        for policy in inline
    )
    moved_documents = {policy.document for policy in inline}
    via = sorted(
        group.name
        for group in user.groups
        if group.policy_arns & set(arns)
        or {policy.document for policy in group.inline_policies} & moved_documents
    )
    names = tuple(dict.fromkeys([*names_used, *via]))
    return Plan(
        user=user,
        groups=names if (arns or inline) else (),
        new_groups=specs,
        moved_policy_arns=arns,
        moved_inline_policies=inline,
        setup_actions=tuple(setup),
        removal_actions=tuple(removal),
    )


def required_group_specs(
    user: UserState, options: MoveOptions, quotas: Quotas
) -> tuple[GroupSpec, ...]:
    """The groups the move needs: those for the policies no group of the user carries yet."""
    arns, inline = policies_to_move(user, options)
    covered_arns, covered_inline = _covering(user)
    uncovered_arns = [arn for arn in arns if arn not in covered_arns]
    uncovered_inline = [policy for policy in inline if policy not in covered_inline]
    if not uncovered_arns and not uncovered_inline:
        return ()
    return group_specs(
        uncovered_arns, uncovered_inline, options, quotas.attached_policies_per_group
    )


def _check_quotas(user: UserState, quotas: Quotas, new_memberships: int, to_create: int) -> None:
    """Refuse when the user's or the account's group quota would be exceeded."""
    if new_memberships and len(user.groups) + new_memberships > quotas.groups_per_user:
        raise RemediationRefused(
            f"User {user.user_name} is in {len(user.groups)} groups and would need "
            f"{new_memberships} more, over GroupsPerUserQuota ({quotas.groups_per_user}). "
            "Nothing was changed. Remove the user from a group it no longer needs, "
            "or exempt it with ExemptUserNames."
        )
    if to_create and quotas.groups_in_account + to_create > quotas.groups_quota:
        raise RemediationRefused(
            f"The account has {quotas.groups_in_account} groups and the move would create "
            f"{to_create} more, over GroupsQuota ({quotas.groups_quota}). Nothing was "
            "changed. Delete unused groups or ask AWS Support to raise the groups quota."
        )
