"""Many accounts: the Organization's active accounts, a role in each, bounded concurrency.

``list_accounts`` asks Organizations (from the management account or a delegated
administrator); ``assume_role`` gets credentials for the named role in one
account; ``for_each_account`` runs a job per account on at most ``jobs`` threads.
An account whose job fails (role missing, access denied, throttled) is recorded
with its reason and the others go on.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from no_direct_policies.cli.clients import describe_aws_error
from no_direct_policies.cli.errors import EXIT_USAGE, CommandError
from no_direct_policies.findings.asff import SecurityHubImportError

ACCOUNT_ID = re.compile(r"^\d{12}$")
SESSION_NAME = "no-direct-policies"
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
DEFAULT_JOBS = 4
MAX_JOBS = 32


@dataclass(frozen=True)
class Account:
    """One account to work on: its ID and name, and the partition its ARN is in."""

    account_id: str
    name: str = ""
    partition: str = "aws"


def parse_account_ids(text: str, option: str) -> list[str]:
    """A comma-separated list of 12-digit account IDs (``option`` names it in the error)."""
    ids = [item.strip() for item in text.split(",") if item.strip()]
    bad = [item for item in ids if not ACCOUNT_ID.match(item)]
    if bad:
        raise CommandError(
            f"{option} holds {bad[0]!r}, which is not a 12-digit AWS account ID: give "
            "comma-separated account IDs, e.g. 111111111111,222222222222",
            EXIT_USAGE,
        )
    return list(dict.fromkeys(ids))


def list_accounts(organizations: Any) -> list[Account]:
    """The Organization's ACTIVE accounts, in Organizations' order."""
    accounts = []
    for page in organizations.get_paginator("list_accounts").paginate():
        for entry in page.get("Accounts") or ():
            if entry.get("Status", "ACTIVE") != "ACTIVE":
                continue
            arn = str(entry.get("Arn", ""))
            partition = arn.split(":")[1] if arn.count(":") > 1 else "aws"
            accounts.append(Account(str(entry["Id"]), str(entry.get("Name", "")), partition))
    return accounts


def select_accounts(
    listed: Sequence[Account], only: Sequence[str], exclude: Sequence[str]
) -> tuple[list[Account], list[tuple[Account, str]]]:
    """The accounts to work on, and the ``only`` IDs the Organization does not list."""
    known = {account.account_id: account for account in listed}
    if only:
        missing = [
            (Account(account_id), "not an active account of the Organization")
            for account_id in only
            if account_id not in known
        ]
        chosen = [known[account_id] for account_id in only if account_id in known]
    else:
        missing, chosen = [], list(listed)
    return [account for account in chosen if account.account_id not in exclude], missing


def assume_role(
    sts: Any, account: Account, role_name: str, external_id: str | None
) -> dict[str, str]:
    """Credentials of ``role_name`` in ``account`` (STS AssumeRole)."""
    request: dict[str, Any] = {
        "RoleArn": f"arn:{account.partition}:iam::{account.account_id}:role/{role_name}",
        "RoleSessionName": SESSION_NAME,
    }
    if external_id:
        request["ExternalId"] = external_id
    credentials: dict[str, str] = sts.assume_role(**request)["Credentials"]
    return credentials


def failure_reason(error: BaseException) -> str | None:
    """One line saying why an account's job failed, or None when the failure is not the
    account's (the report cannot be written, a bug): that one stops the whole run."""
    described = describe_aws_error(error)
    if described is not None:
        return str(described)
    if isinstance(error, SecurityHubImportError):
        return str(error)
    return None


def for_each_account(
    accounts: Iterable[Account],
    job: Callable[[Account], None],
    *,
    jobs: int,
    on_done: Callable[[Account, str | None], None] | None = None,
) -> dict[str, str]:
    """Run ``job`` for each account on at most ``jobs`` daemon threads.

    Returns ``{account_id: reason}`` for the accounts whose job failed with an AWS
    error; ``on_done(account, reason_or_None)`` runs as each one ends. Any other
    exception stops the run: no job starts after it, and it is raised here. A
    KeyboardInterrupt in the calling thread stops the wait: the threads are
    daemons, and no new job starts once the queue is abandoned.
    """
    pending: queue.Queue[Account] = queue.Queue()
    for account in accounts:
        pending.put(account)
    failures: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    fatal: list[BaseException] = []

    def worker() -> None:
        while not stop.is_set():
            try:
                account = pending.get_nowait()
            except queue.Empty:
                return
            reason = None
            try:
                job(account)
            except Exception as error:  # one account's failure must not stop the others
                reason = failure_reason(error)
                if reason is None:
                    fatal.append(error)
                    stop.set()
                    return
            with lock:
                if reason is not None:
                    failures[account.account_id] = reason
                if on_done is not None:
                    on_done(account, reason)

    threads = [
        threading.Thread(target=worker, daemon=True, name=f"account-{index}")
        for index in range(max(1, min(jobs, pending.qsize())))
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    finally:
        stop.set()
    if fatal:
        raise fatal[0]
    return failures
