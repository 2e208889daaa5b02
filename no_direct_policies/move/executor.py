"""Perform a plan's IAM actions, guarded against what others change about the user meanwhile.

The planner (``plan``) decides from one read of the user; IAM has no
conditional write, so between that read and each write an administrator may
revoke a policy, change a group, delete or rename the user, or create another
user under the same name. ``MoveRun`` performs the plan in order under the
user's run lock (``RunLock``) and re-reads right before each write what that
write relies on; ``plan``'s docstring is the safety argument: the list of
checks, what each guarantees, and what no check can close.

A stop raises ``RemediationStopped`` naming what this run changed, or
``RemediationRefused`` when it had changed nothing yet; an AWS error after a
first change is reported the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from no_direct_policies.move.audit_trail import audit_logger
from no_direct_policies.move.iam_reads import (
    attached_group_policy_arns,
    attached_user_policy_arns,
    error_code,
    group_inline_policies,
    group_pages,
    group_policies,
    member_names,
    read_group,
    user_group_names,
    user_id_of,
    user_inline_policies,
    user_name_of_id,
)
from no_direct_policies.move.plan import (
    LOCK_STALE_SECONDS,
    Action,
    GroupSpec,
    GroupState,
    InlinePolicy,
    Plan,
    RemediationRefused,
    RemediationStopped,
    check_group,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

LOGGER = audit_logger(__name__)
VERIFY_DELAYS = (0.5, 1.0, 2.0, 4.0)  # read-back retries while IAM becomes consistent
TAKE_BACK_DELAYS = (0.5, 1.0, 2.0, 4.0)  # retries of a RemoveUserFromGroup that failed

_NAMES_USER = ("AddUserToGroup", "DetachUserPolicy", "DeleteUserPolicy")
# How deep the run is in a stretch an operator's stop waits for (``in_critical_section``).
_CRITICAL: ContextVar[int] = ContextVar("critical", default=0)


def in_critical_section() -> bool:
    """Whether the move is in a stretch an operator's stop (``remediate``'s second Ctrl-C)
    waits for: from the first join to the checks before the first removal, what follows
    a removal that finds its policy gone, a take-back, the lock's release. Stopping there
    could leave a revoked or added policy granted, or a stop's message unsaid."""
    return _CRITICAL.get() > 0


@contextmanager
def _critical() -> Iterator[None]:
    token = _CRITICAL.set(_CRITICAL.get() + 1)
    try:
        yield
    finally:
        _CRITICAL.reset(token)


_COMPLETES = ("AttachGroupPolicy", "PutGroupPolicy")


def _log(action: str, **parameters: str) -> None:
    LOGGER.info("IAM %s", json.dumps({"Action": action, **parameters}))


def _utc_now() -> datetime:
    return datetime.now(UTC)


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


def _code_or_text(error: ClientError | BotoCoreError) -> str:
    """An AWS error's code, or what botocore said when there was no answer."""
    return error_code(error) if isinstance(error, ClientError) else str(error)


def describe_error(error: ClientError | BotoCoreError) -> str:
    """An AWS error for a stop's message: its code and call, or what the connection said."""
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message", "")
        return f"AWS error {error_code(error)} on {error.operation_name} ({message})"
    return f"AWS error {type(error).__name__} ({error})"


def _named(
    arns: set[str] | frozenset[str], inline: set[InlinePolicy] | frozenset[InlinePolicy]
) -> str:
    return ", ".join([*sorted(arns), *(f"inline policy {p.name}" for p in sorted(inline))])


@dataclass(frozen=True)
class ReadBack:
    """What the read-back finds: problems (retried) and groups carrying more than their set."""

    problems: list[str]
    gains: list[str]


def unverified(iam_client: IAMClient, plan: Plan, carriers: Mapping[str, list[str]]) -> ReadBack:
    """What the read-back finds missing or wrong; no problems when the removals are safe.

    ``carriers`` maps each moved policy (its ARN, or "inline:" and its name) to the groups
    that should carry it (``MoveRun._should_carry``). Read: the user's groups, then what
    each carrying group the user is in carries (inline policies only when they are moved).
    Groups that carry nothing moved are not read. What this run's groups carry beyond
    their set is a gain; their inline policies were read right after the join
    (``_check_joined``).
    """
    member = {name.lower() for name in user_group_names(iam_client, plan.user.user_name)}
    problems = [f"user not yet in group {g}" for g in plan.groups if g.lower() not in member]
    own = {spec.name.lower(): spec for spec in plan.new_groups}
    read_inline = bool(plan.moved_inline_policies)
    carried: dict[str, tuple[frozenset[str], frozenset[InlinePolicy]]] = {}
    for name in dict.fromkeys(name for names in carriers.values() for name in names):
        if name.lower() in member:
            carried[name] = (
                attached_group_policy_arns(iam_client, name),
                group_inline_policies(iam_client, name) if read_inline else frozenset(),
            )
    gains = []
    for name, (arns, inline) in carried.items():
        spec = own.get(name.lower())
        if spec is None:
            continue
        extra_inline = inline - set(spec.inline_policies) if read_inline else frozenset()
        if extra := _named(arns - set(spec.policy_arns), extra_inline):
            gains.append(f"group {name} also carries {extra}")
        if arns != frozenset(spec.policy_arns) or (
            read_inline and inline != set(spec.inline_policies)
        ):
            problems.append(f"group {name} does not carry exactly its set")
    empty: tuple[frozenset[str], frozenset[InlinePolicy]] = (frozenset(), frozenset())
    for arn in plan.moved_policy_arns:
        if not any(arn in carried.get(name, empty)[0] for name in carriers[arn]):
            problems.append(f"{arn} not reached")
    for policy in plan.moved_inline_policies:
        names = carriers[f"inline:{policy.name}"]
        if policy.document not in {p.document for n in names for p in carried.get(n, empty)[1]}:
            problems.append(f"inline policy {policy.name} not reached")
    return ReadBack(problems, gains)


class RunLock:
    """The user's run lock: an IAM group with no policy and no member, named from the user ID.

    ``CreateGroup`` is atomic, so only one run holds it; it grants nothing, and
    ``DeleteGroup`` only succeeds on a group without members and policies, so releasing it
    cannot remove anything from anyone. A lock older than ``LOCK_STALE_SECONDS`` outlived
    its run (Lambda's maximum run time) and is taken over.
    """

    def __init__(
        self,
        iam_client: IAMClient,
        name: str,
        path: str,
        sleep: Callable[[float], None],
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.iam, self.name, self.path, self.sleep, self.now = iam_client, name, path, sleep, now
        self.group_id: str | None = None

    def acquire(self) -> None:
        """Create the lock group; refuse while another run holds it."""
        _log("CreateGroup", GroupName=self.name, Path=self.path)
        try:
            group = self.iam.create_group(GroupName=self.name, Path=self.path)["Group"]
        except ClientError as error:
            if error_code(error) != "EntityAlreadyExists":
                raise
            group = self._take_over(error)
        self.group_id = group["GroupId"]

    def _take_over(self, error: ClientError) -> Any:
        """The lock exists: refuse if it is fresh or not empty; else replace it."""
        try:
            held = self.iam.get_group(GroupName=self.name)
        except ClientError as read_error:
            if error_code(read_error) != "NoSuchEntity":
                raise
            held = None  # released between the two calls: try once more
        if held is not None:
            created = held["Group"]["CreateDate"]
            if (self.now() - created).total_seconds() < LOCK_STALE_SECONDS:
                raise RemediationRefused(
                    "another remediation of this user is in progress (lock group "
                    f"{self.name} created at {created.isoformat()}); retry later. Nothing was "
                    "changed. A lock older than 15 minutes (Lambda's maximum run time) is "
                    "taken over. If no run is changing this user (one whose answer was lost, "
                    f"or that was interrupted), delete it: aws iam delete-group --group-name "
                    f"{self.name}"
                ) from error
            if contents := self._contents(held):
                raise RemediationRefused(
                    f"The run lock group {self.name} {contents}: someone changed it; a lock "
                    "group must stay empty. Nothing was changed. Take the members out of it "
                    "and its policies off it, then run again."
                ) from error
            _log("DeleteGroup", GroupName=self.name)  # a stale lock: its run is over
            try:
                self.iam.delete_group(GroupName=self.name)
            except ClientError as delete_error:
                if error_code(delete_error) != "NoSuchEntity":
                    raise
        _log("CreateGroup", GroupName=self.name, Path=self.path)
        try:
            return self.iam.create_group(GroupName=self.name, Path=self.path)["Group"]
        except ClientError as again:
            if error_code(again) != "EntityAlreadyExists":
                raise
            raise RemediationRefused(
                f"another remediation of this user took the lock group {self.name} at the "
                "same moment; retry later. Nothing was changed."
            ) from again

    def _contents(self, held: Any) -> str:
        """What a lock group holds that it must not (members, policies); empty if nothing."""
        members = sorted(user["UserName"] for user in held["Users"])
        arns = attached_group_policy_arns(self.iam, self.name)
        names = self.iam.list_group_policies(GroupName=self.name)["PolicyNames"]
        parts = []
        if members:
            parts.append(f"has members ({', '.join(members)})")
        if arns or names:
            policies = [*sorted(arns), *(f"inline policy {n}" for n in sorted(names))]
            parts.append(f"carries policies ({', '.join(policies)})")
        return " and ".join(parts)

    def is_ours(self) -> bool:
        """Whether the lock group is still the one this run created."""
        if self.group_id is None:
            return False
        try:
            found = self.iam.get_group(GroupName=self.name)["Group"]["GroupId"]
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            return False
        return bool(found == self.group_id)

    def release(self) -> str:
        """Delete the lock if it is ours and empty; else what is wrong, for the run's message.

        An AWS error is retried (bounded): a lock left behind refuses runs for 15 minutes.
        """
        if self.group_id is None:
            return ""
        group_id, self.group_id = self.group_id, None
        with _critical():  # a run's end (and its message) is not cut short
            for delay in TAKE_BACK_DELAYS:
                problem = self._release(group_id)
                if not problem.startswith("AWS error"):
                    return problem
                self.sleep(delay)
            return self._release(group_id).removeprefix("AWS error ")

    def _release(self, group_id: str) -> str:
        """``GetGroup`` (still this run's?), then ``DeleteGroup``.

        IAM refuses to delete a group that has members or policies (``DeleteConflict``), so
        a lock someone changed is never deleted; its contents are read only then, to say so.
        """
        try:
            held = self.iam.get_group(GroupName=self.name)
            if held["Group"]["GroupId"] != group_id:
                return (
                    f"This run's lock group {self.name} was taken over by another run; it "
                    "was left to that run."
                )
            if not held["Users"]:
                _log("DeleteGroup", GroupName=self.name)
                try:
                    self.iam.delete_group(GroupName=self.name)
                    return ""
                except ClientError as error:
                    if error_code(error) != "DeleteConflict":
                        raise
            return (
                f"The run lock group {self.name} "
                f"{self._contents(held) or 'could not be deleted (DeleteConflict)'}: someone "
                "changed it during the run (a lock group must stay empty), so it was not "
                "deleted and what it carries reaches its members. Take the members out and "
                "the policies "
                f"off, then delete it: aws iam delete-group --group-name {self.name}"
            )
        except (ClientError, BotoCoreError) as error:
            if isinstance(error, ClientError) and error_code(error) == "NoSuchEntity":
                return ""  # someone deleted it: nothing is left to release
            return (
                f"AWS error The run lock group {self.name} could not be deleted "
                f"({_code_or_text(error)}). "
                "It has no member and no policy, so it grants nothing; until it is deleted "
                "(or for 15 minutes) runs for this user are refused. Delete it: "
                f"aws iam delete-group --group-name {self.name}"
            )
        return ""


@dataclass(frozen=True)
class _Direct:
    """What is on the user directly now: managed ARNs and (when moving them) inline policies."""

    arns: frozenset[str]
    inline: frozenset[InlinePolicy]


class MoveRun:
    """One execution of a plan under the user's run lock, with the guards around each write."""

    def __init__(
        self,
        iam_client: IAMClient,
        plan: Plan,
        specs: Mapping[str, GroupSpec],
        lock: RunLock,
        sleep: Callable[[float], None],
        *,
        checked: bool = False,
    ) -> None:
        """``checked``: the user's direct policies and ID were read (under the lock) since
        the plan's read, and nothing was written since but the lock."""
        self.iam = iam_client
        self.plan = plan
        self.specs = specs
        self.lock = lock
        self.sleep = sleep
        self.user_name, self.user_id = plan.user.user_name, plan.user.user_id
        self.created: list[str] = []
        self.added: list[str] = []  # groups this run added the user to
        self._unconfirmed: list[str] = []  # added since the user's ID was last confirmed
        self.removed_arns: set[str] = set()
        self.removed_inline: set[str] = set()
        self.writes = 0
        self._spec = {spec.name.lower(): spec for spec in plan.new_groups}
        # What each group of this run carries, by lower-case name (IAM ignores case).
        self._carried = {
            name: (frozenset(spec.policy_arns), frozenset(spec.inline_policies))
            for name, spec in self._spec.items()
        }
        self._checked = checked  # the user was checked and nothing was written since
        self._owed: tuple[list[str], str] = ([], "")  # take-backs pending, what they grant

    # --- The run ---------------------------------------------------------------

    def execute(self) -> None:
        """Perform the plan; release the lock however it ends; report any end but success."""
        try:
            self._execute()
        except (RemediationRefused, RemediationStopped) as outcome:
            if problem := self.lock.release():
                raise RemediationStopped(f"{outcome.reason} {problem}") from outcome
            raise
        except (ClientError, BotoCoreError) as error:
            owed, grants = self._owed
            problem = self.lock.release()
            if not self.writes and not problem and not owed:
                raise  # nothing was changed: the AWS error as it is
            if owed:
                commands = "; ".join(
                    f"aws iam remove-user-from-group --group-name {name} --user-name "
                    f"{self.user_name}"
                    for name in owed
                )
                text = (
                    f"{describe_error(error)} while taking back {self.user_name}'s membership "
                    f"of {', '.join(owed)}, which grants it {grants}. Remove that membership "
                    f"now: {commands} - then run the remediation again. {self.changes()}"
                )
                raise RemediationStopped(" ".join(filter(None, [text, problem]))) from error
            text = (
                f"{describe_error(error)} after this run had changed IAM; it stopped there. "
                "Its own changes took nothing away and granted nothing (a change someone "
                f"else made since its last check is not seen). {self.changes()}"
            )
            raise RemediationStopped(
                " ".join(filter(None, [text, problem, "Run the remediation again to resume."]))
            ) from error
        if problem := self.lock.release():
            raise RemediationStopped(
                f"The policies of {self.user_name} were moved to {', '.join(self.plan.groups)}, "
                f"but the run lock could not be released. {problem}"
            )

    def _execute(self) -> None:
        """Adding actions, read-back, removals: each write guarded by the reads before it.

        After the last join one set of reads serves as the read-back and as the check
        before the first removal, since no write comes between them (``_before_removals``).
        """
        with ExitStack() as joined:
            for action in self.plan.setup_actions:
                joining = action["Action"] == "AddUserToGroup"
                if joining:
                    self.check_user()
                    self._check_target(action["GroupName"])
                    if not self.added:  # from the first join to the checks after the last
                        joined.enter_context(_critical())
                added_before = len(self.added)
                self._write(action)
                if joining and len(self.added) > added_before:
                    self._check_joined(action["GroupName"])
            self._before_removals()
        for index, action in enumerate(self.plan.removal_actions):
            if index:
                self._before_removal(action)
            self._write(action)

    def _write(self, action: Action) -> None:
        if action["Action"] in _COMPLETES:
            self._check_completion(action["GroupName"])
        try:
            created = perform_action(self.iam, action, self.specs)
        except RemediationRefused as refusal:  # a racing run's group that cannot be used
            if self.writes:
                raise RemediationStopped(f"{refusal.reason} {self.changes()}") from refusal
            raise
        except ClientError as error:
            if error_code(error) != "NoSuchEntity" or action["Action"] not in _NAMES_USER:
                raise
            with _critical():  # what was found missing is acted on before any stop
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

    def _check_completion(self, group: str) -> None:
        """Right before each write that adds a policy to a group: it has no member.

        A group is built (created, or an interrupted run's completed) only while adding to
        it grants nobody anything (rule 2), so its members are read live before each policy
        added (``GetGroup``). A group this run did not create, or one that has members (a
        concurrent run for a user with the same set may have completed it and added its
        user), is read whole (``read_group``): ``check_group`` accepts it complete, or
        partial without members, and nothing beyond its set.
        """
        state = None
        if group in self.created:  # what it carries is what this run put there: members only
            pages = group_pages(self.iam, group)
            members = member_names(pages) if pages is not None else frozenset()
            if pages is not None and not members:
                state = GroupState(group, self._spec[group.lower()].path, frozenset())
        if state is None:  # another's group, members, or gone: read it whole
            state = read_group(self.iam, group)
        if state is None:
            self.stop(
                f"Group {group} was deleted before this run completed it; nothing was added "
                "to it. Run the remediation again."
            )
        try:
            check_group(self._spec[group.lower()], state)
        except RemediationRefused as refusal:
            self.stop(f"{refusal.reason} This was read right before adding to it.")

    # --- Joining a group ---------------------------------------------------------

    def _check_target(self, group: str) -> None:
        """Right before the user joins: the group carries exactly its set, nothing else."""
        spec = self._spec[group.lower()]
        carried = group_policies(self.iam, group)
        if carried is None:
            self.stop(
                f"Group {group} was deleted before {self.user_name} was added to it; "
                f"{self.user_name} was not added. Run the remediation again."
            )
        # What joining grants is what the group carries; its path was checked when the plan
        # chose it and is not read again.
        state = GroupState(group, spec.path, carried[0], carried[1])
        try:
            check_group(spec, state, complete=True)
        except RemediationRefused as refusal:
            self.stop(
                f"{refusal.reason} This was read right before adding {self.user_name} to it, "
                f"so {self.user_name} was not added."
            )

    def _check_joined(self, group: str) -> None:
        """Right after the user joined: the group still carries nothing beyond its set."""
        spec = self._spec[group.lower()]
        extra = _named(
            attached_group_policy_arns(self.iam, group) - set(spec.policy_arns),
            group_inline_policies(self.iam, group) - set(spec.inline_policies),
        )
        if extra:
            self._leave_for_gain([f"group {group} also carries {extra}"])

    def _leave_for_gain(self, gains: list[str]) -> None:
        """Someone attached more to a group of this run: leave every group the run added."""
        what = "; ".join(gains)
        grants = (
            f"{what}, which reaches {self.user_name} through it (attached by someone else "
            "during the run)"
        )
        left = self._leave_groups(list(self.added), grants)
        self.added = [name for name in self.added if name not in left]
        self.stop(
            f"{what}: someone attached it during the run, and it reached {self.user_name} "
            f"through that group until this run removed {self.user_name} from "
            f"{', '.join(left) or 'it'} again. The policies are still attached to "
            f"{self.user_name} directly, so nothing was lost. Remove what does not belong "
            "from that group (or delete it), then run the remediation again."
        )

    def _before_removals(self) -> None:
        """The reads between the last join (and its group check) and the first removal.

        In this order: the user's direct policies and inline documents (a revocation
        during the join: take-back and stop; a rewritten inline document: stop, nothing
        deleted); the lock is still this run's; the read-back (``_verify``: the user's
        groups and what the carrying groups carry, also the first removal's route
        check), after which the direct policies are read again if the read-back had to
        wait for IAM; the document of an inline policy the first removal deletes
        (``GetUserPolicy``); then ``GetUser``: every read above was of the planned user.
        """
        direct = self._read_direct(confirm=False)
        if self._differs(direct):  # act on it first: a revoked policy reaches the user now
            self.confirm_identity()
            self._after_direct_read(direct)
        self._require_lock("")
        if self._verify():
            direct = self._read_direct(confirm=False)  # what changed while it waited
        first = self.plan.removal_actions[0] if self.plan.removal_actions else None
        problem = ""
        if first is not None and first["Action"] == "DeleteUserPolicy":
            problem = self._document_problem(first["PolicyName"])
            if problem:  # the old document left the user: read what it has now
                direct = self._read_direct(confirm=False)
        self.confirm_identity()
        self._after_direct_read(direct)
        if problem:
            self.stop(problem)
        self._checked = True

    def _carriers(self) -> dict[str, list[str]]:
        """Each moved policy (its ARN, or "inline:" and its name) and the groups to carry it."""
        carriers = {arn: self._should_carry(arn, None) for arn in self.plan.moved_policy_arns}
        for policy in self.plan.moved_inline_policies:
            carriers[f"inline:{policy.name}"] = self._should_carry(None, policy)
        return carriers

    def _verify(self) -> bool:  # noqa: RET503 - the last line, stop(), raises
        """Read back until every moved policy reaches the user through a group (bounded).

        True if it had to wait for IAM (read more than once).
        """
        carriers = self._carriers()
        for attempt, delay in enumerate((*VERIFY_DELAYS, None)):
            try:
                found = unverified(self.iam, self.plan, carriers)
            except ClientError as error:
                if error_code(error) == "NoSuchEntity":
                    self.confirm_identity()  # stops when the user is gone
                raise
            if found.gains:
                self.confirm_identity()
                self._leave_for_gain(found.gains)
            if not found.problems:
                return attempt > 0
            if delay is not None:
                self.sleep(delay)
        self.confirm_identity()  # the read-back of a user replaced meanwhile fails too
        self.stop(
            f"the read-back after adding {self.user_name} to {', '.join(self.plan.groups)} "
            f"failed: {'; '.join(found.problems)}. The moved policies would no longer reach "
            f"{self.user_name} through a group: someone removed {self.user_name} from a group "
            f"or took a policy off it during the run (or IAM still did not show the change "
            f"after {len(VERIFY_DELAYS)} retries). The policies are still attached to the "
            "user and nothing was removed, so nothing was lost; run the remediation again."
        )

    # --- Removing from the user --------------------------------------------------

    def _before_removal(self, action: Action) -> None:
        """The reads right before a removal after the first: its route, then the user's ID."""
        problem = self._route_problem(action)
        if not problem:
            self.confirm_identity()  # the reads above were of the planned user
            return
        with _critical():  # a rewritten document left the user: take back what it can
            direct = self._read_direct(confirm=False)
            self.confirm_identity()
            self._after_direct_read(direct)
            self.stop(problem)

    def _should_carry(self, arn: str | None, policy: InlinePolicy | None) -> list[str]:
        """The groups that should carry a policy: this run's, then the user's own."""
        names = [
            spec.name
            for spec in self.plan.new_groups
            if arn in spec.policy_arns or policy in spec.inline_policies
        ]
        document = policy.document if policy is not None else None
        names += [
            group.name
            for group in self.plan.user.groups
            if arn in group.policy_arns or document in {p.document for p in group.inline_policies}
        ]
        return list(dict.fromkeys(names))

    def _route_problem(self, action: Action) -> str:
        """Why the policy a removal takes off the user would no longer reach it; "" if it would."""
        member = {name.lower() for name in user_group_names(self.iam, self.user_name)}
        if action["Action"] == "DetachUserPolicy":
            arn = action["PolicyArn"]
            for name in self._should_carry(arn, None):
                if name.lower() in member and arn in attached_group_policy_arns(self.iam, name):
                    return ""
            what = arn
        else:
            policy = next(
                p for p in self.plan.moved_inline_policies if p.name == action["PolicyName"]
            )
            if problem := self._document_problem(policy.name):
                return problem
            for name in self._should_carry(None, policy):
                documents = {p.document for p in group_inline_policies(self.iam, name)}
                if name.lower() in member and policy.document in documents:
                    return ""
            what = f"inline policy {policy.name}"
        return (
            f"{what} would no longer reach {self.user_name} through a group: someone removed "
            f"{self.user_name} from {', '.join(self._should_carry_for(action))} or took the "
            f"policy off that group during the run. It is still on {self.user_name} directly "
            "and nothing was removed for it, so nothing was lost. Run the remediation again."
        )

    def _document_problem(self, policy_name: str) -> str:
        """Right before deleting an inline policy: "" unless its document was rewritten.

        A policy already gone is no problem here: the delete finds nothing and says so.
        """
        policy = next(p for p in self.plan.moved_inline_policies if p.name == policy_name)
        try:
            now = self.iam.get_user_policy(UserName=self.user_name, PolicyName=policy.name)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            return ""
        if InlinePolicy.from_document(policy.name, now["PolicyDocument"]) != policy:
            return (
                f"inline policy {policy.name} of {self.user_name} was rewritten during the "
                "remediation; the new document stays on the user and nothing was removed "
                "for it. Run the remediation again to move it as it is now."
            )
        return ""

    def _should_carry_for(self, action: Action) -> list[str]:
        if action["Action"] == "DetachUserPolicy":
            return self._should_carry(action["PolicyArn"], None)
        policy = next(p for p in self.plan.moved_inline_policies if p.name == action["PolicyName"])
        return self._should_carry(None, policy)

    def _removal_found_nothing(self, action: Action, error: ClientError) -> None:
        """A detach or delete found nothing: someone removed it from the user right before."""
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

    # --- The user: identity, direct policies, take-backs --------------------------

    def check_user(self, *, force: bool = False) -> None:
        """Confirm the user's ID, then that no policy this run moves was revoked meanwhile."""
        if self._checked and not force:
            return
        self._after_direct_read(self._read_direct())
        self._checked = True

    def _differs(self, direct: _Direct) -> bool:
        """Whether a moved policy left the user or an inline document it moves changed."""
        revoked_arns, revoked_inline = self._revoked(direct)
        return bool(revoked_arns or revoked_inline or self._rewritten(direct))

    def _rewritten(self, direct: _Direct) -> list[str]:
        """The moved inline policies still on the user under their name, with another document."""
        names = {p.name for p in direct.inline}
        return sorted(
            p.name
            for p in self.plan.moved_inline_policies
            if p.name in names and p not in direct.inline and p.name not in self.removed_inline
        )

    def _after_direct_read(self, direct: _Direct) -> None:
        revoked_arns, revoked_inline = self._revoked(direct)
        if revoked_arns or revoked_inline:
            self._take_back(revoked_arns, revoked_inline, direct)
        # Covered by a group of the user's own: nothing to take back, only a stop.
        if rewritten := self._rewritten(direct):
            self.stop(
                f"inline policy {', '.join(rewritten)} of {self.user_name} was rewritten during "
                "the remediation; the new document stays on the user and nothing was removed "
                "for it. Run the remediation again to move it as it is now."
            )

    def _read_direct(self, *, confirm: bool = True) -> _Direct:
        """The user's direct policies, then (with ``confirm``) its ID: the reads were its own.

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
        if confirm:
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

    def confirm_identity(self) -> None:
        """Stop unless the user's name still belongs to the planned user ID.

        Memberships added since the last confirmation may belong to a new user of that
        name: they are removed first, so the new principal is granted nothing.
        """
        found = user_id_of(self.iam, self.user_name)
        if found == self.user_id:
            self._unconfirmed.clear()
            return
        old, unconfirmed = self.user_name, list(self._unconfirmed)
        self._unconfirmed = []
        grants = f"what that group carries, to whoever has the name {old} now"
        removed = self._leave_groups(unconfirmed, grants)
        taken = f" Removed {old} from {', '.join(removed)} again." if removed else ""
        other = (
            f" The name {old} now belongs to another user ({found}), which this run granted "
            "nothing."
            if found is not None
            else ""
        )
        current = user_name_of_id(self.iam, self.user_id)
        if current is None:
            # The memberships went with the deleted user.
            self.added = []
            self.stop(
                f"IAM user {old} ({self.user_id}) was deleted during the remediation.{other}"
                f"{taken} Nothing is left to remediate for {self.user_id}."
            )
        in_groups = {name.lower() for name in user_group_names(self.iam, str(current))}
        self.added = [name for name in self.added if name.lower() in in_groups]
        self.user_name = str(current)
        self.stop(
            f"IAM user {old} ({self.user_id}) was renamed to {current} during the "
            f"remediation.{other}{taken} Run the remediation again for {self.user_id} (UserName "
            f"{current}) to finish the move; what this run did stands:"
        )

    def _take_back(
        self, revoked_arns: set[str], revoked_inline: set[InlinePolicy], direct: _Direct
    ) -> None:
        """Undo what this run's groups grant back of a revocation, where nothing is lost; stop.

        The user leaves a group this run added it to that carries a revoked policy, but
        only when every other policy the group carries is still on the user directly.
        """
        revoked = _named(revoked_arns, revoked_inline)
        cause = (
            f"{revoked} left IAM user {self.user_name} during the remediation: someone revoked "
            "it (or changed its inline document), and the change stands - unless this run's "
            "lock was taken over after 15 minutes by another run of this remediation, which "
            "then moved it."
        )
        names = {policy.name for policy in direct.inline}
        if rewritten := sorted(p.name for p in revoked_inline if p.name in names):
            cause += (
                f" Inline policy {', '.join(rewritten)} was rewritten: the new document stays "
                f"on {self.user_name} and nothing was removed for it."
            )
        leaving, kept = [], []
        for name in self.added:
            arns, inline = self._carried.get(name.lower(), (frozenset(), frozenset()))
            if not (arns & revoked_arns or inline & revoked_inline):
                continue
            lost_arns = arns - revoked_arns - direct.arns
            lost_inline = inline - revoked_inline - direct.inline
            if lost_arns or lost_inline:
                kept.append(f"{name} (it also carries {_named(lost_arns, lost_inline)})")
            else:
                leaving.append(name)
        taken = self._leave_groups(leaving, f"{revoked} ({cause})")
        self.added = [name for name in self.added if name not in taken]
        text = cause
        if taken:
            text += f" Removed {self.user_name} from {', '.join(taken)}, which carries it."
        if kept:
            text += (
                f" {self.user_name} is still in {', '.join(kept)}, policies this run had "
                f"already detached from {self.user_name}: leaving would lose them, so "
                f"{revoked} still reaches {self.user_name} through that group. If it was "
                f"revoked, remove {self.user_name} from that group and attach the policies it "
                "should keep directly, then run the remediation again."
            )
        else:
            text += f" Run the remediation again to move what remains on {self.user_name}."
        self.stop(text)

    def _require_lock(self, grants: str, memberships: list[str] | None = None) -> None:
        """Stop unless this run still holds its lock; name the memberships it cannot remove."""
        if memberships == []:
            return  # nothing to remove: no need to hold the lock for it
        if self.lock.is_ours():
            return
        text = (
            f"This run's lock group {self.lock.name} is no longer its own (another run found "
            "it older than 15 minutes and took it over, or someone deleted it), so another "
            f"run may be changing {self.user_name} now; this run stopped without removing "
            "anything."
        )
        if memberships:
            commands = "; ".join(
                f"aws iam remove-user-from-group --group-name {name} --user-name {self.user_name}"
                for name in memberships
            )
            text += (
                f" {self.user_name} is still in {', '.join(memberships)}, which grants it "
                f"{grants}. Once no run is changing {self.user_name}, remove that membership: "
                f"{commands}"
            )
        self.stop(text)

    def _leave_groups(self, groups: list[str], grants: str) -> list[str]:
        """Take back these memberships (under the lock); the groups the user left.

        While they are pending, an AWS error anywhere stops the run naming them, what they
        grant and the command that removes each (``execute``).
        """
        self._owed = (list(groups), grants)
        with _critical():
            self._require_lock(grants, groups)
            left = [name for name in groups if self._leave_group(name, grants)]
        self._owed = ([], "")
        return left

    def _leave_group(self, group: str, grants: str) -> bool:
        """Remove the user's name from a group (retried); False if IAM finds no such membership.

        If IAM keeps failing, the run stops naming the membership, what it grants and the
        command that removes it.
        """
        for delay in (*TAKE_BACK_DELAYS, None):
            _log("RemoveUserFromGroup", GroupName=group, UserName=self.user_name)
            try:
                self.iam.remove_user_from_group(GroupName=group, UserName=self.user_name)
            except (ClientError, BotoCoreError) as error:
                if isinstance(error, ClientError) and error_code(error) == "NoSuchEntity":
                    return False
                if delay is not None:
                    self.sleep(delay)
                    continue
                raise RemediationStopped(
                    f"Removing {self.user_name} from {group} failed "
                    f"({_code_or_text(error)}, {len(TAKE_BACK_DELAYS) + 1} attempts): "
                    f"{self.user_name} is still in {group}, which grants it {grants}. Remove "
                    "that membership now: aws iam remove-user-from-group --group-name "
                    f"{group} --user-name {self.user_name} - then run the remediation again. "
                    f"{self.changes()}"
                ) from error
            return True
        return False  # not reached: the last attempt returns or raises

    # --- Outcomes ----------------------------------------------------------------

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

    def stop(self, reason: str) -> NoReturn:
        """Raise the run's outcome: refused if nothing was changed yet, else stopped part-way."""
        if not self.writes:
            raise RemediationRefused(f"{reason} Nothing was changed.")
        raise RemediationStopped(f"{reason} {self.changes()}")
