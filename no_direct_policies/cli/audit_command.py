"""``audit``: one account, many accounts (``--org``, ``--accounts``) or a Config aggregator.

Findings are written as they are read (see report). With several accounts, an
account that cannot be audited is told on stderr as it fails, listed in the
JSON report's ``Accounts``, and the run ends with EXIT_ACCOUNTS_FAILED.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from no_direct_policies.cli import accounts, aggregator, audit, organization
from no_direct_policies.cli.clients import aws_client
from no_direct_policies.cli.errors import (
    EXIT_ACCOUNTS_FAILED,
    EXIT_AWS_ERROR,
    EXIT_NONCOMPLIANT,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
)
from no_direct_policies.cli.organization import Account
from no_direct_policies.cli.output import use_colour
from no_direct_policies.cli.progress import Progress
from no_direct_policies.cli.report import AuditReport, table_width
from no_direct_policies.compliance import RuleOptions
from no_direct_policies.findings.asff import (
    BATCH_SIZE,
    SecurityHubImportError,
    send_to_security_hub,
    to_asff,
)
from no_direct_policies.findings.model import Finding


class SecurityHubSender:
    """ASFF findings imported in batches of 100 as they come (``flush`` sends the rest)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.batch: list[dict[str, Any]] = []
        self.sent = 0
        self.error: SecurityHubImportError | None = None  # the first refusal, kept

    def add(self, finding: Finding) -> None:
        self.batch.append(to_asff(finding))
        if len(self.batch) == BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Send the batch. Findings Security Hub refused are kept in ``error`` (the audit
        goes on and its report ends whole); an AWS error propagates."""
        if self.batch:
            batch, self.batch = self.batch, []
            try:
                self.sent += send_to_security_hub(self.client, batch)
            except SecurityHubImportError as error:
                self.sent += error.imported
                self.error = self.error or error


def finding_filter(args: argparse.Namespace) -> Callable[[Finding], bool]:
    """``--user`` and ``--status``: which findings the report shows."""
    names, statuses = set(args.user), set(args.status)

    def keep(finding: Finding) -> bool:
        if names and finding.user_name not in names:
            return False
        return not statuses or finding.compliance_type in statuses

    return keep


def _check(args: argparse.Namespace) -> None:
    if args.send_to_security_hub and args.format != "asff":
        raise CommandError("--send-to-security-hub goes with --format asff", EXIT_USAGE)
    if args.aggregator and (accounts.wants_accounts(args) or args.send_to_security_hub):
        raise CommandError(
            "--aggregator reads the Organization's recorded verdicts: it does not combine "
            "with --org, --accounts or --send-to-security-hub",
            EXIT_USAGE,
        )


def run_audit(
    args: argparse.Namespace, options: RuleOptions, iam_client: Any, stdout: TextIO, stderr: TextIO
) -> int:
    """Print every user's verdict; the exit code says what was found (see errors)."""
    _check(args)
    report = AuditReport(stdout, args.format, colour=use_colour(stdout), width=table_width(stdout))
    keep = finding_filter(args)
    lock = threading.Lock()
    progress = Progress(stderr, "reading IAM users", unit="users")

    wanted, seen = set(args.user), set[str]()

    def emit(finding: Finding, sender: SecurityHubSender | None = None) -> None:
        if finding.user_name in wanted:
            seen.add(finding.user_name)
        if not keep(finding):
            return
        with lock:
            progress.close()  # the bar and the report may share the terminal
            report.add(finding)
        if sender is not None:
            sender.add(finding)

    statuses = None
    failures: dict[str, str] = {}
    refused: dict[str, str] = {}  # account ("" alone) -> why Security Hub refused findings
    try:
        if args.aggregator:
            config = aws_client("config", **accounts.connection(args))
            rule_name, locations = aggregator.find_rule(
                config,
                args.aggregator,
                args.rule_name,
                on_note=lambda note: print(note, file=stderr, flush=True),
            )
            progress = Progress(stderr, "reading the aggregator", unit="accounts and regions")
            located = aggregator.iter_findings(
                config,
                args.aggregator,
                rule_name,
                on_location=lambda done, total: progress.update(done=done),
                locations=locations,
            )
            for finding in located:
                emit(finding)
        elif accounts.wants_accounts(args):
            statuses, failures = _audit_accounts(args, options, emit, refused, stderr)
        else:
            sender = None
            if args.send_to_security_hub:
                sender = SecurityHubSender(aws_client("securityhub", **accounts.connection(args)))
            for _, finding in audit.iter_findings(
                iam_client,
                options,
                region=accounts.region(args),
                on_page=lambda users: progress.update(done=users),
            ):
                emit(finding, sender)
            _flush(sender, refused, stderr)
    except BaseException:
        progress.close()
        report.abort()  # a JSON document written so far still parses
        raise
    progress.close()
    report.close(statuses)
    if failures:
        return EXIT_ACCOUNTS_FAILED
    if refused:
        raise _import_failure(refused)
    _check_users_found(args.user, seen, several=statuses is not None or bool(args.aggregator))
    return EXIT_NONCOMPLIANT if report.counts["NON_COMPLIANT"] else EXIT_OK


def _import_failure(refused: Mapping[str, str]) -> CommandError:
    """Exit 3 once the report is whole: Security Hub refused some findings."""
    if list(refused) == [""]:
        return CommandError(
            f"{refused['']}: check the findings' account has Security Hub enabled",
            EXIT_AWS_ERROR,
        )
    return CommandError(
        f"Security Hub refused findings of {len(refused)} accounts "
        f"({', '.join(sorted(refused))}; each named above): the audit of these accounts "
        "is in the report, their import is not complete",
        EXIT_AWS_ERROR,
    )


def _check_users_found(names: list[str], seen: set[str], *, several: bool) -> None:
    """A ``--user`` that named no user read is a usage error (a typo must not pass as green)."""
    missing = [name for name in dict.fromkeys(names) if name not in seen]
    if missing:
        where = "in any account audited" if several else "in this account"
        raise CommandError(
            f"no IAM user named {', '.join(repr(name) for name in missing)} {where}: "
            "check --user (user names are case-sensitive)",
            EXIT_USAGE,
        )


def _flush(
    sender: SecurityHubSender | None,
    refused: dict[str, str],
    stderr: TextIO,
    account_id: str = "",
) -> None:
    """Send the last batch; say how many were imported, and keep a refusal in ``refused``."""
    if sender is None:
        return
    sender.flush()
    where = f" of account {account_id}" if account_id else ""
    print(f"audit: {sender.sent} findings imported into Security Hub{where}", file=stderr)
    if sender.error is not None:
        refused[account_id] = str(sender.error)
        if account_id:
            print(
                f"error: account {account_id}: audited, but its Security Hub import failed: "
                f"{sender.error}",
                file=stderr,
                flush=True,
            )


def _audit_accounts(
    args: argparse.Namespace,
    options: RuleOptions,
    emit: Callable[[Finding, SecurityHubSender | None], None],
    refused: dict[str, str],
    stderr: TextIO,
) -> tuple[list[dict[str, str]], dict[str, str]]:
    targets, failures = accounts.resolve(args)
    for account_id, reason in failures.items():
        print(f"error: account {account_id}: {reason}", file=stderr, flush=True)
    sts = aws_client("sts", **accounts.connection(args))
    progress = Progress(stderr, "reading accounts", total=len(targets), unit="accounts")
    users_read = [0]
    region = accounts.region(args)

    def job(account: Account) -> None:
        iam = accounts.account_client("iam", account, args, sts)
        sender = None
        if args.send_to_security_hub:
            sender = SecurityHubSender(accounts.account_client("securityhub", account, args, sts))
        last = [0]

        def on_page(users: int) -> None:
            users_read[0] += users - last[0]
            last[0] = users
            progress.update(note=f"{users_read[0]} users")

        for _, finding in audit.iter_findings(
            iam, options, account_id=account.account_id, region=region, on_page=on_page
        ):
            emit(finding, sender)
        _flush(sender, refused, stderr, account.account_id)

    def on_done(account: Account, reason: str | None) -> None:
        progress.update(advance=1)
        if reason is not None:
            progress.close()
            print(f"error: account {account.account_id}: {reason}", file=stderr, flush=True)

    failures.update(organization.for_each_account(targets, job, jobs=args.jobs, on_done=on_done))
    progress.close()
    statuses = accounts.account_statuses(targets, failures)
    for status in statuses:
        if status["AccountId"] in refused:
            status["SecurityHubImportError"] = refused[status["AccountId"]]
    return statuses, failures
