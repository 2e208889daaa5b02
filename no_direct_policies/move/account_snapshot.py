"""One read of the whole account, for planning the moves of many users at once.

``remediate --apply`` over many users would otherwise read each user, its
groups and each candidate group separately. ``GetAccountAuthorizationDetails``
with the ``User`` and ``Group`` filters gives every user (its attached and
inline policies and its groups) and every group (what it carries), 1,000
entries a page; ``GetAccountSummary`` gives the quotas. Every user is planned
against that one read, and what each move creates is recorded here, so the next
user with the same set reuses the group without reading it.

The snapshot only plans. It is stale by design: what each write relies on is
read again right before it, under the user's run lock (``request.move_read_user``
and ``executor``), exactly as when the helper remediates one user. A user whose
direct policies changed since the snapshot is read again and re-planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from no_direct_policies.move.iam_reads import read_group, read_quotas
from no_direct_policies.move.plan import Action, GroupState, InlinePolicy, Quotas, UserState

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


def _inline(details: Iterable[Mapping[str, Any]]) -> frozenset[InlinePolicy]:
    return frozenset(
        InlinePolicy.from_document(policy["PolicyName"], policy["PolicyDocument"])
        for policy in details
    )


def _arns(details: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(policy["PolicyArn"] for policy in details)


class AccountSnapshot:
    """The account's users and groups as read once, kept current with this run's own writes.

    Group names are looked up regardless of case, as IAM does. A group this run could
    not finish with (a refused or stopped move) is forgotten and read live when next
    needed.
    """

    def __init__(
        self,
        iam_client: IAMClient,
        user_details: Iterable[Mapping[str, Any]],
        group_details: Iterable[Mapping[str, Any]],
    ) -> None:
        self.iam = iam_client
        self._users = {user["UserName"]: user for user in user_details}
        members: dict[str, set[str]] = {}
        for user in self._users.values():
            for group in user.get("GroupList") or ():
                members.setdefault(group.lower(), set()).add(user["UserName"])
        self._groups: dict[str, GroupState | None] = {
            group["GroupName"].lower(): GroupState(
                name=group["GroupName"],
                path=group["Path"],
                policy_arns=frozenset(_arns(group.get("AttachedManagedPolicies") or ())),
                inline_policies=_inline(group.get("GroupPolicyList") or ()),
                member_names=frozenset(members.get(group["GroupName"].lower(), ())),
            )
            for group in group_details
        }
        self._forgotten: set[str] = set()
        self._quotas: Quotas | None = None

    def user_state(self, user_name: str, *, with_inline: bool) -> UserState:
        """The user as the snapshot has it, in the form the planner takes."""
        user = self._users[user_name]
        inline = _inline(user.get("UserPolicyList") or ()) if with_inline else frozenset()
        groups = []
        for name in user.get("GroupList") or ():
            if name.lower() not in self._groups:  # not in the pages read: read it live
                self._forgotten.add(name.lower())
            state = self.group(name)
            if state is not None:
                groups.append(state)
        return UserState(
            user_name=user_name,
            user_id=user["UserId"],
            attached_policy_arns=_arns(user.get("AttachedManagedPolicies") or ()),
            inline_policies=tuple(sorted(inline)),
            groups=tuple(groups),
        )

    def group(self, name: str) -> GroupState | None:
        """A group by name (any case); None if the account has no such group."""
        key = name.lower()
        if key in self._forgotten:
            self._groups[key] = read_group(self.iam, name)
            self._forgotten.discard(key)
        return self._groups.get(key)

    def carried(self, name: str) -> list[str] | None:
        """What a group carries as the snapshot knows it (managed ARNs, then inline policy
        names), without reading IAM; None if the snapshot does not know the group."""
        state = self._groups.get(name.lower())
        if state is None or name.lower() in self._forgotten:
            return None
        return [*sorted(state.policy_arns), *sorted(p.name for p in state.inline_policies)]

    def quotas(self) -> Quotas:
        """The account's quotas (one ``GetAccountSummary``), counting the groups made since."""
        if self._quotas is None:
            self._quotas = read_quotas(self.iam)
        return self._quotas

    def record(self, actions: Iterable[Action]) -> None:
        """Bring the snapshot's groups up to date with the actions a move performed."""
        for action in actions:
            kind = action["Action"]
            key = action.get("GroupName", "").lower()
            group = self._groups.get(key)
            if kind == "CreateGroup":
                self._groups[key] = GroupState(action["GroupName"], action["Path"], frozenset())
                if self._quotas is not None:
                    made = self._quotas.groups_in_account + 1
                    self._quotas = replace(self._quotas, groups_in_account=made)
            elif group is None:
                continue
            elif kind == "AttachGroupPolicy":
                arns = group.policy_arns | {action["PolicyArn"]}
                self._groups[key] = replace(group, policy_arns=arns)
            elif kind == "PutGroupPolicy":
                policy = InlinePolicy.from_document(action["PolicyName"], action["PolicyDocument"])
                self._groups[key] = replace(group, inline_policies=group.inline_policies | {policy})
            elif kind == "AddUserToGroup":
                members = group.member_names | {action["UserName"]}
                self._groups[key] = replace(group, member_names=members)

    def forget(self, group_names: Iterable[str]) -> None:
        """Read these groups live next time: a move that did not finish may have changed them,
        or found them other than the snapshot has them."""
        self._forgotten.update(name.lower() for name in group_names)
        self._quotas = None  # groups may have been created: ask GetAccountSummary again
