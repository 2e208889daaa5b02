"""Helpers and fixtures for the remediation tests: users, effective policies, faults.

``effective_policies`` is the measure every safety test uses: the managed
policy ARNs and inline policy documents that reach a user directly or through
any of its groups.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from no_direct_policies.move.request import MoveRequest, move_user_policies, parse_payload
from no_direct_policies.simulation.account import REGION

S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
CHANGE_PASSWORD = "arn:aws:iam::aws:policy/IAMUserChangePassword"
LIST_BUCKETS = {  # an inline policy document
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}


@dataclass(frozen=True)
class Effective:
    """What reaches a user: managed policy ARNs and canonical inline documents."""

    managed: frozenset[str]
    inline: frozenset[str]


def canonical_document(document: Any) -> str:
    parsed = json.loads(document) if isinstance(document, str) else document
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def effective_policies(iam: Any, user_name: str) -> Effective:
    """Managed ARNs and inline documents reaching the user directly or via its groups."""
    managed = {
        p["PolicyArn"]
        for p in iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]
    }
    inline = {
        canonical_document(
            iam.get_user_policy(UserName=user_name, PolicyName=name)["PolicyDocument"]
        )
        for name in iam.list_user_policies(UserName=user_name)["PolicyNames"]
    }
    for group in iam.list_groups_for_user(UserName=user_name)["Groups"]:
        name = group["GroupName"]
        managed |= {
            p["PolicyArn"]
            for p in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]
        }
        inline |= {
            canonical_document(iam.get_group_policy(GroupName=name, PolicyName=p)["PolicyDocument"])
            for p in iam.list_group_policies(GroupName=name)["PolicyNames"]
        }
    return Effective(frozenset(managed), frozenset(inline))


def iam_snapshot(iam: Any) -> dict[str, Any]:
    """Every user's and group's policies and memberships: to prove that nothing changed."""
    users = {
        user["UserName"]: (
            effective_policies(iam, user["UserName"]),
            sorted(
                g["GroupName"]
                for g in iam.list_groups_for_user(UserName=user["UserName"])["Groups"]
            ),
        )
        for user in iam.list_users()["Users"]
    }
    groups = {
        group["GroupName"]: (
            group["Path"],
            sorted(
                p["PolicyArn"]
                for p in iam.list_attached_group_policies(GroupName=group["GroupName"])[
                    "AttachedPolicies"
                ]
            ),
            sorted(iam.list_group_policies(GroupName=group["GroupName"])["PolicyNames"]),
        )
        for group in iam.list_groups()["Groups"]
    }
    return {"users": users, "groups": groups}


@pytest.fixture(scope="session")
def aws_managed_arns(aws_account) -> list[str]:
    """30 AWS-managed policy ARNs (sorted), for users with many policies."""
    iam = boto3.client("iam", region_name=REGION)
    arns = [p["Arn"] for p in iam.list_policies(Scope="AWS", MaxItems=200)["Policies"]]
    return sorted(arns)[:30]


@pytest.fixture
def make_user(iam) -> Callable[..., dict[str, Any]]:
    """Create a user with attached managed policies, inline policies and group memberships."""

    def make(
        name: str,
        policies: list[str] = (),
        inline: dict[str, dict] | None = None,
        groups: list[str] = (),
        path: str = "/",
    ) -> dict[str, Any]:
        user = iam.create_user(UserName=name, Path=path)["User"]
        for arn in policies:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        for policy_name, document in (inline or {}).items():
            iam.put_user_policy(
                UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        return user

    return make


@pytest.fixture
def make_group(iam) -> Callable[..., str]:
    """Create a group with attached managed policies (and optional inline ones)."""

    def make(
        name: str, policies: list[str] = (), path: str = "/", inline: dict | None = None
    ) -> str:
        iam.create_group(GroupName=name, Path=path)
        for arn in policies:
            iam.attach_group_policy(GroupName=name, PolicyArn=arn)
        for policy_name, document in (inline or {}).items():
            iam.put_group_policy(
                GroupName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )
        return name

    return make


def remediate(iam: Any, **payload: Any) -> dict[str, Any]:
    """Run the helper's public entry points exactly as the handler does."""
    return move_user_policies(iam, parse_payload(payload), sleep=lambda _delay: None)


def once_before(iam: Any, operation: str, competitor: Callable[[], None]) -> None:
    """Run ``competitor`` once, just before the ``iam`` client's first ``operation`` call."""
    done: list[bool] = []

    def hook(**_kwargs: Any) -> None:
        if not done:
            done.append(True)
            competitor()

    iam.meta.events.register(f"before-call.iam.{operation}", hook)


def delete_user(iam: Any, name: str) -> None:
    """Delete a user the way IAM requires: leave its groups, remove its policies, delete it."""
    for group in iam.list_groups_for_user(UserName=name)["Groups"]:
        iam.remove_user_from_group(GroupName=group["GroupName"], UserName=name)
    for policy in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy_name)
    iam.delete_user(UserName=name)


@contextmanager
def before_call(iam: Any, index: int, competitor: Callable[[], None]) -> Iterator[None]:
    """Run ``competitor`` once, just before the ``index``-th (0-based) call of ``iam``."""
    calls = itertools.count()

    def hook(**_kwargs: Any) -> None:
        if next(calls) == index:
            competitor()

    iam.meta.events.register("before-call.iam.*", hook)
    try:
        yield
    finally:
        iam.meta.events.unregister("before-call.iam.*", hook)


def recorded_calls(iam: Any, run: Callable[[], Any]) -> list[str]:
    """The names of the IAM calls the ``iam`` client makes during ``run()``, in order."""
    names: list[str] = []

    def record(model: Any, **_kwargs: Any) -> None:
        names.append(model.name)

    iam.meta.events.register("before-call.iam.*", record)
    try:
        run()
    finally:
        iam.meta.events.unregister("before-call.iam.*", record)
    return names


def request_for(**payload: Any) -> MoveRequest:
    """A parsed payload."""
    return parse_payload(payload)


@pytest.fixture
def quotas(iam) -> Iterator[dict[str, int]]:
    """Override values of GetAccountSummary's SummaryMap (moto enforces no quota)."""
    overrides: dict[str, int] = {}

    def patch(parsed: dict, **_kwargs: Any) -> None:
        parsed["SummaryMap"].update(overrides)

    iam.meta.events.register("after-call.iam.GetAccountSummary", patch)
    yield overrides
    iam.meta.events.unregister("after-call.iam.GetAccountSummary", patch)


@dataclass
class CallLog:
    """The IAM operations a client performed, in order, with their parameters."""

    calls: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @property
    def writes(self) -> list[str]:
        reads = ("Get", "List")
        return [name for name in self.names if not name.startswith(reads)]


@pytest.fixture
def call_log(iam) -> Iterator[CallLog]:
    """Record every IAM call the ``iam`` client makes."""
    log = CallLog()

    def record(model: Any, params: dict, **_kwargs: Any) -> None:
        log.calls.append((model.name, params))

    iam.meta.events.register("before-call.iam.*", record)
    yield log
    iam.meta.events.unregister("before-call.iam.*", record)


class InjectedFault(ClientError):
    """The error the fault injector raises in place of one IAM call."""


@pytest.fixture
def fail_call(iam) -> Iterator[Callable[[int], None]]:
    """``fail_call(n)`` makes the n-th IAM call (0-based) of the ``iam`` client fail."""
    state = {"target": -1, "count": 0}

    def inject(model: Any, **_kwargs: Any) -> None:
        index = state["count"]
        state["count"] += 1
        if index == state["target"]:
            raise InjectedFault(
                {"Error": {"Code": "ServiceFailure", "Message": "injected"}}, model.name
            )

    def arm(target: int) -> None:
        state.update(target=target, count=0)

    iam.meta.events.register("before-call.iam.*", inject)
    yield arm
    iam.meta.events.unregister("before-call.iam.*", inject)


@pytest.fixture
def observer(aws_account) -> Any:
    """A second IAM client for reading state from inside hooks of the ``iam`` client."""
    return boto3.client("iam", region_name=REGION)


REMOVALS = ("RemoveUserFromGroup", "DetachUserPolicy", "DeleteUserPolicy")


@dataclass
class InvariantGuard:
    """Checks invariants 1 and 2 after every single IAM call of the watched client.

    ``watch(user)`` records the user's effective policies as the baseline; after
    each call the guard reads them again (with a hook-free client) and records a
    violation when anything from the baseline no longer reaches the user (lost)
    or anything else does (gained). A correct move never does either, at any moment.
    """

    observer: Any
    baselines: dict[str, Effective] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    checks: int = 0
    # Policies revoked from a user by the test: no longer in its baseline; their brief
    # return (between AddUserToGroup and the run's own check) is reported by the test.
    revoked: dict[str, Effective] = field(default_factory=dict)
    # Only removals can lose a policy: in loops over many runs, checking after these alone
    # is as strict for "nothing lost" and much quicker (None: after every call).
    only_after: tuple[str, ...] | None = None

    def watch(self, user_name: str) -> Effective:
        self.baselines[user_name] = effective_policies(self.observer, user_name)
        return self.baselines[user_name]

    def revoke(self, user_name: str, revoked: Effective) -> None:
        """The test revoked these from the user: the user may lose them from now on."""
        base = self.baselines[user_name]
        self.baselines[user_name] = Effective(
            base.managed - revoked.managed, base.inline - revoked.inline
        )
        self.revoked[user_name] = revoked

    def __call__(self, model: Any, **_kwargs: Any) -> None:
        if self.only_after is not None and model.name not in self.only_after:
            return
        for user_name, baseline in self.baselines.items():
            try:
                now = effective_policies(self.observer, user_name)
            except self.observer.exceptions.NoSuchEntityException:
                continue  # a user deleted by the test itself has nothing left to lose
            self.checks += 1
            lost = sorted(baseline.managed - now.managed) + sorted(baseline.inline - now.inline)
            back = self.revoked.get(user_name, Effective(frozenset(), frozenset()))
            gained = sorted(now.managed - baseline.managed - back.managed) + sorted(
                now.inline - baseline.inline - back.inline
            )
            if lost:
                self.violations.append(f"after {model.name}: {user_name} lost {lost}")
            if gained:
                self.violations.append(f"after {model.name}: {user_name} gained {gained}")


@pytest.fixture
def guard(iam, observer) -> Iterator[InvariantGuard]:
    """An InvariantGuard on every IAM call the ``iam`` client makes."""
    checker = InvariantGuard(observer)
    iam.meta.events.register("after-call.iam.*", checker)
    yield checker
    iam.meta.events.unregister("after-call.iam.*", checker)


def is_write(call: str) -> bool:
    """Whether an IAM operation changes IAM (everything but Get*/List*)."""
    return not call.startswith(("Get", "List"))


def sweep_points(calls: list[str]) -> list[int]:
    """The call indexes a sweep injects before: around every write, and the first and last.

    Before each write, right before the read that guards it (the last read before it),
    and right after it: the points where an injected change meets a different guard, or
    none. Reads in between meet the same guards as their neighbours; sweeping these points
    instead of every index keeps each decisive one and the suite fast.
    """
    points = {0, len(calls) - 1}
    for index, call in enumerate(calls):
        if is_write(call):
            points |= {max(index - 1, 0), index, min(index + 1, len(calls) - 1)}
    return sorted(points)
