"""The remediation's safety argument: a pure planner from IAM state to ordered IAM actions.

``plan_move`` takes what the request read (the user, the groups it is in, the
groups the plan would use, the account's quotas) and returns the exact IAM API
actions to perform, or raises ``RemediationRefused`` before anything is changed.
It makes no API call, so every planning rule below can be read and tested here
alone; rules 7 to 10 say how the executor (``executor``) keeps them while
others change IAM during a run. This docstring is the one statement of what
the remediation guarantees; docs/remediation.md summarises it.

Invariants and how each is guaranteed:

1. Nothing lost - at every moment, for every user, the policies that reach it
   (directly or through groups) include everything it had before, except what
   someone else revokes. The plan is two ordered phases: ``setup_actions``
   (create group, attach policies, put inline policies, add user to group) only
   ever add; ``removal_actions`` (detach, delete inline) run only after the
   executor has read back that every moved policy reaches the user through a
   group, and each removal only after its own route check (rule 9). Policies
   that already reach the user through a group it is in are only removed from
   the user. No policy is ever detached from a group, since a group may gain a
   member at any moment; a user leaves a group only in a take-back (rule 8).
2. Nothing gained - afterwards exactly the same policies reach the user. A
   group is used only if its attached managed policies and inline policies
   equal the set it is meant to carry (``check_group``); a pre-existing group
   with anything else, or under another path, is refused, never reused. A group
   that holds only part of its set (an interrupted or concurrent run) is
   completed only while it has no members, so completing it grants nobody
   anything: its members are read right before each policy is added to it
   (``GetGroup``; for a group this run did not create, ``read_group`` with what
   it carries), not taken from the plan's read. A group the user is
   already in, under the remediation path, whose name ends in a set digest
   that does not match what it carries (someone attached more to it) is never
   counted as covering anything: the plan is
   refused naming it (``check_user_groups``). IAM group names are unique
   regardless of case: a group found under the planned name in another case is
   that group, checked the same way, and is then named as IAM knows it.
3. Consolidation - a group's name is derived from its policy set alone
   (``group_name``), so users with the same set land in the same group, and two
   runs racing for one name meet at the same group, which rule 2 verifies.
4. Quotas before any change - sets larger than ``AttachedPoliciesPerGroupQuota``
   are split in ARN order into fixed chunks; the user's ``GroupsPerUserQuota``
   and the account's ``GroupsQuota`` (counting the run lock's group, rule 7)
   are checked against the live values from ``GetAccountSummary`` and the plan
   is refused if either would be exceeded. A re-plan under the lock adds the
   lock although the summary may count it already (IAM is eventually
   consistent): at the exact quota it is refused, never let past it. In bulk
   the account's count comes from one summary, kept current with this run's
   groups; a group someone else creates meanwhile makes IAM refuse a
   ``CreateGroup`` (``LimitExceeded``), a loud stop.
5. Idempotent - a user with nothing left to move gets an empty plan
   (``NOTHING_TO_MOVE``); groups and memberships that already exist produce no
   action, so a re-run after any interruption resumes where it stopped.
6. Exempt policies (``ExemptPolicyArns``) are never moved.
7. One run per user at a time - before its first write a run creates its lock:
   a group with no policy and no member, under the remediation path, named
   from the user ID alone (``lock_group_name``: the same for runs with another
   GroupNamePrefix or GroupPath). ``CreateGroup`` is atomic, so a
   second run gets ``EntityAlreadyExists`` and is refused ("another
   remediation of this user is in progress") unless the lock is older than
   ``LOCK_STALE_SECONDS`` (15 minutes, Lambda's maximum run time: its run
   crashed), which is then replaced. Under the lock the run reads the user's
   direct policies (and inline documents when moving them), its groups (rule
   4's GroupsPerUserQuota), what each of its groups under the remediation path
   or carrying one of its policies carries, and ``GetUser`` again; if any of
   it changed since the plan's read (a run that ended in between, or the
   account's read in bulk), it reads the user anew and re-plans, and is
   checked again before its first join. The lock is verified (``GetGroup``:
   the ``GroupId`` this run created) before the first removal and before any
   take-back, and deleted at the end however the run ends, except when an
   operator's second signal stops the command line there or the answer to its
   ``CreateGroup`` is lost (both messages name the lock and the command that
   deletes it). A lock someone gave a member or a policy is not deleted (IAM
   refuses ``DeleteGroup`` on it: ``DeleteConflict``) and the run says so. The
   lock grants nothing and deleting an empty group removes
   nothing from anyone. A dry run takes no lock.
8. Take-backs - a membership this run added is removed again (the user leaves
   the group) when it would grant something: a policy revoked from the user
   meanwhile, a policy someone attached to the group, or a new user that took
   the name. Only while this run holds its lock, only groups this run added
   the user to, and for a revocation only if every other policy the group
   carries is still on the user directly (so leaving loses nothing). The
   removal is retried with backoff; if IAM keeps failing, the run stops
   naming the membership, what it grants and the ``aws iam
   remove-user-from-group`` command that removes it.
9. The checks right before each write (IAM has no conditional write):
   - ``AttachGroupPolicy``/``PutGroupPolicy``: the group has no member (rule 2),
     unless it is already complete (a concurrent run for a user with the same
     set finished it), when the write changes nothing.
   - ``AddUserToGroup``: the user's direct policies (and inline documents when
     moving them), then ``GetUser`` (the name still has the planned ID; IDs are
     never reused, so reads followed by a matching ``GetUser`` were of that
     user), and what the group carries (its managed and inline policies,
     ``check_group`` with the exact, complete set; its path was checked when
     the plan chose it, and only what it carries decides what joining grants).
     Right after it: the group's policies again (more than its set: take-back,
     stop).
   - Between the last join's group check and the first removal, one set of
     reads in this order: the direct policies and inline documents (a
     revocation: take-back and stop; an inline document rewritten: stop); the
     lock; the read-back, ``ListGroupsForUser`` and what each group that should
     carry a moved policy carries (every moved policy must reach the user
     through a group; retried while IAM becomes consistent, and the direct
     policies read again after a retry; a group of this run carrying more than
     its set makes the user leave every group this run added it to, and the
     run stops naming the gain); ``GetUserPolicy`` when the first removal is a
     ``DeleteUserPolicy`` (changed: stop, nothing deleted); then ``GetUser``.
     No write comes between these reads and the first removal, so they are also
     its route check.
   - Every later removal: ``ListGroupsForUser``; for a ``DeleteUserPolicy`` the
     user's document (``GetUserPolicy``: changed means a take-back where it
     loses nothing, then stop, nothing deleted); what the groups that should
     carry the policy carry (``ListAttachedGroupPolicies``, or the inline
     documents); then ``GetUser``. If no group carries it any
     more the run stops and removes nothing for it.
   - A removal that finds its policy already gone (``NoSuchEntity``) was
     revoked right before it: a group of this run carrying it is taken back as
     in 8; if none does, it reaches the user as before, through its own group.
10. Identity - on a ``GetUser`` that does not return the planned ID, the
   memberships added since the last confirmation are taken back (they may be a
   new principal's), then the ID's current name is looked up (Config's record
   confirmed by ``GetUser``, else ``ListUsers``):
   a user renamed mid-run is reported under its new name with the memberships
   it keeps, and told to re-run; a deleted user's groups stay in place, and a
   group without members grants nobody anything (a later run for a user with
   the same set reuses it, rule 2).

Many users at once (``remediate --apply``): every chosen user is planned
against one read of the account (``account_snapshot``: users, groups and
what each carries, from ``GetAccountAuthorizationDetails``, and the quotas from
one ``GetAccountSummary``), kept current with the groups each move creates.
The snapshot only plans; it may be stale by the time a user's turn comes, and
rules 7 to 10 are kept exactly as for one user: the lock, the re-read under it
(a user whose direct policies changed is read anew and re-planned) and every
check before each write.

Outcomes: ``RemediationRefused`` ("Refused: ...") is raised before any IAM
change (a run refused under its lock has created and deleted only that lock);
``RemediationStopped`` ("Stopped part-way: ...") after some change, at a point
where rules 1 and 2 hold, and for any AWS error after a first change (naming
the error code and the call); its message lists what stays in place (groups
created, memberships, policies already moved) and what to do.

Residual risks, each for a reason IAM imposes (no conditional write, no way to
tell who removed a policy):

- Join window: a policy attached to a group after the check right before
  ``AddUserToGroup`` reaches the user from that call until the take-back right
  after it (the group's re-read, the lock check and the removal: four calls;
  for the j-th of several groups this run added, j + 3, since the user leaves
  them in the order it joined them).
- Revocation window: a policy revoked after the direct read before
  ``AddUserToGroup`` reaches the user through the group until the take-back
  that the next direct read leads to (for one group six calls after the join:
  the group's re-read, the direct read, ``GetUser``, the lock check and the
  removal). An inline document rewritten is the old document's revocation.
- Removal window: a route removed (the user taken out of the group, or the
  policy detached from it) after the ``ListGroupsForUser`` of the check before
  a removal and before the removal itself is not seen: the user loses that
  policy. A revocation after the read before the first removal, once another
  policy of the same group has been detached from the user, cannot be taken
  back without losing that other policy: the user stays in the group and the
  stop message names both and says how to finish.
- Completion window: a member added to a group between the ``GetGroup`` right
  before a policy is added to it and that write gets the policy (one call).
- Document window: an inline document rewritten between the ``GetUserPolicy``
  of the check before a ``DeleteUserPolicy`` and the delete is deleted (two
  calls for the first removal, the ``GetUser`` between; for a later one also
  the reads of the groups' inline documents); the group carries the document
  as it was before.
- An AWS error (or a lost answer) stops the run where it is: its own changes
  took nothing away and granted nothing, but a change someone else made since
  its last check is not seen; during a take-back the stop names the membership
  and the command that removes it, and a lost answer to the lock's
  ``CreateGroup`` names the lock and the command that deletes it.
- Identity window: a user replaced under its name between the ``GetUser`` and
  the write right after it: a detach or delete then acts on the new principal
  (removing, never granting); an ``AddUserToGroup`` is undone at the next
  ``GetUser`` (before the next join, or in the reads before the first removal:
  up to eight calls later for one group).
- Lock take-over race: two runs that find the same stale lock at once can each
  delete it and create their own, one deleting the other's fresh lock; both
  then believe they hold it until their next lock check (before the first
  removal, before a take-back), where the overtaken run stops without removing
  anything. Removals after the first are not preceded by a lock check, so a
  run that outlives 15 minutes (impossible in Lambda, possible from the CLI)
  can overlap a run that took its lock over.
- A take-back IAM keeps refusing leaves the membership in place; the stop
  message names it and gives the command, and a re-run cannot tell it from a
  finished move.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_GROUP_PATH = "/config-remediation/"
DEFAULT_GROUP_NAME_PREFIX = "MovedPolicies-"
GROUP_NAME_LIMIT = 128  # IAM's maximum group name length
_DIGEST_LENGTH = 12  # 48 bits of SHA-256: collisions between policy sets are not a concern
_ENCODED_DIGEST = re.compile(rf"-([0-9a-f]{{{_DIGEST_LENGTH}}})", re.IGNORECASE)
LOCK_STALE_SECONDS = 15 * 60  # Lambda's maximum run time: an older run lock outlived its run

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
    lock_group: str = ""  # the run lock's group name (``lock_group_name``)
    lock_path: str = DEFAULT_GROUP_PATH

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


def set_digest(
    policy_arns: Sequence[str] | frozenset[str],
    inline: Sequence[InlinePolicy] | frozenset[InlinePolicy],
) -> str:
    """The digest that ends the name of the group carrying exactly this set."""
    identity = json.dumps(
        {"managed": sorted(policy_arns), "inline": [[p.name, p.document] for p in sorted(inline)]}
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:_DIGEST_LENGTH]


def group_name(prefix: str, policy_arns: Sequence[str], inline: Sequence[InlinePolicy]) -> str:
    """A group name determined by the policy set alone: readable names plus a digest."""
    digest = set_digest(policy_arns, inline)
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


LOCK_NAME_PREFIX = "MovedPolicies-lock-"


def lock_group_name(user_id: str) -> str:
    """The run lock of a user: a group that never carries a policy or has a member.

    Named from the user ID alone, whatever the run's GroupNamePrefix and GroupPath: group
    names are unique in an account, so every run for the user, however configured (the
    automatic remediation, ``remediate`` with ``--group-name-prefix``), meets the same lock.
    """
    return f"{LOCK_NAME_PREFIX}{user_id}"[:GROUP_NAME_LIMIT]


def check_group(spec: GroupSpec, state: GroupState, *, complete: bool = False) -> None:
    """Accept an existing group only if it is the spec's group, complete or memberless-partial.

    With ``complete`` (right before the user joins it) only the exact, complete set is
    accepted. Raises RemediationRefused naming the difference otherwise: such a group is
    never used.
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
    if partial and complete and not problems:
        problems.append("it lacks part of its set (someone removed a policy from it)")
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


def check_user_groups(user: UserState, options: MoveOptions) -> None:
    """Refuse if a group of the user under the remediation path carries other than its name says.

    Such a group grants something its name does not encode (someone attached a policy to it),
    so it is never counted as covering a policy and the run refuses before any change.
    """
    for group in user.groups:
        encoded = _ENCODED_DIGEST.fullmatch(group.name[-_DIGEST_LENGTH - 1 :])
        if group.path != options.group_path or encoded is None:
            continue
        if encoded.group(1).lower() != set_digest(group.policy_arns, group.inline_policies):
            carried = _named_set(group.policy_arns, group.inline_policies)
            raise RemediationRefused(
                f"User {user.user_name} is in group {group.name}, a remediation group whose "
                f"contents ({carried or 'nothing'}) are not the policy set its name encodes: "
                "someone changed that group, and the policies it carries beyond its name's set "
                f"(among {carried or 'none'}) reach every member. Nothing was changed. Restore "
                "the group to its set (or take its members out of it), then run again."
            )


def _named_set(arns: frozenset[str], inline: frozenset[InlinePolicy]) -> str:
    return ", ".join([*sorted(arns), *(f"inline policy {p.name}" for p in sorted(inline))])


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
        lock_group=lock_group_name(user.user_id),
        lock_path=options.group_path,
    )


def required_group_specs(
    user: UserState, options: MoveOptions, quotas: Quotas
) -> tuple[GroupSpec, ...]:
    """The groups the move needs: those for the policies no group of the user carries yet."""
    check_user_groups(user, options)
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
    # The run lock is one more group while the run lasts.
    if quotas.groups_in_account + to_create + 1 > quotas.groups_quota:
        raise RemediationRefused(
            f"The account has {quotas.groups_in_account} groups and the move would create "
            f"{to_create} more, plus its run lock group while it runs, over GroupsQuota "
            f"({quotas.groups_quota}). Nothing was changed. Delete unused groups or ask AWS "
            "Support to raise the groups quota."
        )
