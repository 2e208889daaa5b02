"""``remediate``: read the account (or the accounts), choose the users, plan or apply.

The helper's own code does each user (see remediate). Several accounts are read
concurrently, then remediated one after the other; each user's outcome is printed
as soon as it is done, and a one-line summary ends the plan or the apply.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from no_direct_policies.cli import accounts, audit, interruption, organization, output
from no_direct_policies.cli.change_log import ChangeLog
from no_direct_policies.cli.clients import aws_client
from no_direct_policies.cli.errors import (
    EXIT_ACCOUNTS_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STOPPED,
)
from no_direct_policies.cli.organization import Account
from no_direct_policies.cli.progress import Progress
from no_direct_policies.compliance import RuleOptions, UserPolicies
from no_direct_policies.findings.model import Finding

if TYPE_CHECKING:
    from no_direct_policies.move.account_snapshot import AccountSnapshot


class _Workload:
    """One account's part of a ``remediate`` run: its client, its users, the chosen ones."""

    def __init__(self, account: Account | None, client: Any) -> None:
        self.account, self.client = account, client
        self.details = audit.AccountDetails()  # the one read every user is planned against
        self.users: list[UserPolicies] = []
        self.findings: list[Finding] = []
        self.chosen: list[UserPolicies] = []


def _read_workloads(
    args: argparse.Namespace,
    options: RuleOptions,
    client_factory: Callable[[], Any],
    stderr: TextIO,
) -> tuple[list[_Workload], dict[str, str]]:
    """Every account's users (the findings too, for the HTML page); failed accounts apart."""
    keep_findings = args.format == "html"
    if not accounts.wants_accounts(args):
        workload = _Workload(None, client_factory())
        with Progress(stderr, "reading IAM users", unit="users") as progress:
            for user, finding in audit.iter_findings(
                workload.client,
                options,
                region=accounts.region(args),
                on_page=lambda users: progress.update(done=users),
                keep=workload.details,
            ):
                workload.users.append(user)
                if keep_findings:
                    workload.findings.append(finding)
        return [workload], {}
    targets, failures = accounts.resolve(args)
    sts = aws_client("sts", **accounts.connection(args))
    read: dict[str, _Workload] = {}
    region = accounts.region(args)
    progress = Progress(stderr, "reading accounts", total=len(targets), unit="accounts")

    def job(account: Account) -> None:
        workload = _Workload(account, accounts.account_client("iam", account, args, sts))
        for user, finding in audit.iter_findings(
            workload.client,
            options,
            account_id=account.account_id,
            region=region,
            keep=workload.details,
        ):
            workload.users.append(user)
            if keep_findings:
                workload.findings.append(finding)
        read[account.account_id] = workload

    with progress:
        failures.update(
            organization.for_each_account(
                targets,
                job,
                jobs=args.jobs,
                on_done=lambda account, reason: progress.update(advance=1),
            )
        )
    for account_id, reason in failures.items():
        print(f"error: account {account_id}: {reason}", file=stderr, flush=True)
    ordered = [read[target.account_id] for target in targets if target.account_id in read]
    return ordered, failures


def _choose(
    workloads: Sequence[_Workload], names: Sequence[str], options: RuleOptions, stderr: TextIO
) -> None:
    """Each workload's chosen users; a ``--user`` found in no account is a usage error."""
    from no_direct_policies.cli import remediate  # noqa: PLC0415 - audit must not need the helper

    if len(workloads) == 1 and workloads[0].account is None:
        present = [list(names)]
    else:
        everywhere = {user.user_name for workload in workloads for user in workload.users}
        missing = [name for name in names if name not in everywhere]
        if missing:
            remediate.select_users([], missing, options)  # raises the usage error
        present = [
            [name for name in names if name in {user.user_name for user in workload.users}]
            for workload in workloads
        ]
    for workload, wanted in zip(workloads, present, strict=True):
        if names and not wanted:
            continue
        workload.chosen, skipped = remediate.select_users(workload.users, wanted, options)
        for skip in skipped:
            print(
                f"{skip['UserName']}: skipped, the rule exempts it: {skip['Reason']}", file=stderr
            )


def run_remediate(
    args: argparse.Namespace,
    options: RuleOptions,
    client_factory: Callable[[], Any],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``remediate``: the helper's plan (dry run) or, with ``--apply``, its result.

    Each user's outcome is printed (and flushed) as soon as the user is done; with
    ``--apply`` SIGINT / SIGTERM stop the run at a safe point (see interruption).
    Several accounts are read concurrently, then remediated one after the other.
    """
    from no_direct_policies.cli import remediate  # noqa: PLC0415 - audit must not need the helper

    helper_options = {
        "GroupPath": args.group_path,
        "GroupNamePrefix": args.group_name_prefix,
        "ExemptPolicyArns": args.exempt_policy_arns or None,
        "MoveInlinePolicies": args.move_inline_policies or None,
    }
    remediate.check_helper_options(helper_options)
    change_log = None
    if args.apply and args.log:
        change_log = (
            ChangeLog(args.log, None) if accounts.wants_accounts(args) else _open_change_log(args)
        )
    run = _RemediationRun(args, stdout, stderr)
    try:
        workloads, failed_accounts = _read_workloads(args, options, client_factory, stderr)
        _choose(workloads, args.user, options, stderr)
        run.findings = [finding for workload in workloads for finding in workload.findings]
        chosen = [user for workload in workloads for user in workload.chosen]
        run.start(len(chosen))
        run.execute(workloads, chosen, change_log, helper_options)
        run.finish()
    finally:
        run.progress.close()
        if change_log:
            change_log.close()
    _note_inline_policies_left(args, options, chosen, run.results, stderr)
    for failure in run.failures:
        what = "Refused" if failure["Outcome"] == remediate.REFUSED else "Stopped part-way"
        print(f"error: {failure['UserName']}: {what}: {failure['Error']}", file=stderr)
    run.summarise(len(workloads), failed_accounts)
    outcomes = {failure["Outcome"] for failure in run.failures}
    if remediate.STOPPED in outcomes:
        return EXIT_STOPPED
    if outcomes:
        return EXIT_REFUSED
    return EXIT_ACCOUNTS_FAILED if failed_accounts else EXIT_OK


def _open_change_log(args: argparse.Namespace) -> ChangeLog:
    """The change log, with the caller's account ID (asked once, before any change)."""
    sts = aws_client("sts", **accounts.connection(args))
    account = sts.get_caller_identity()["Account"]
    return ChangeLog(args.log, account)


class _RemediationRun:
    """The outcomes of one ``remediate`` run, printed as each user is done."""

    def __init__(self, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> None:
        self.format = args.format
        self.apply = args.apply
        self.stdout, self.stderr = stdout, stderr
        self.colour = output.use_colour(stdout)
        self.results: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.findings: list[Finding] = []
        self.account: str | None = None
        self.snapshots: dict[str | None, AccountSnapshot] = {}  # by account
        self.finished = False
        label = "applying" if self.apply else "planning"
        self.progress = Progress(stderr, label, unit="users")

    def execute(
        self,
        workloads: Sequence[_Workload],
        chosen: Sequence[UserPolicies],
        change_log: ChangeLog | None,
        helper_options: Mapping[str, Any],
    ) -> None:
        """Plan or apply each chosen user, account after account, stopping safely on a signal."""
        from no_direct_policies.cli import remediate  # noqa: PLC0415 - audit must not need it

        with interruption.deferred_stop() as stop:
            done = 0
            for workload in workloads:
                client = workload.client
                if workload.account is not None:
                    self.account = workload.account.account_id
                if change_log:
                    if workload.account is not None:
                        change_log.account = workload.account.account_id
                    change_log.attach(client)
                client.meta.events.register("before-call.iam", stop.check_call_boundary)
                snapshot = remediate.account_snapshot(client, workload.details)
                self.snapshots[self.account] = snapshot
                for user in workload.chosen:
                    if stop.requested:
                        self.interrupted(f"{stop.received[0]} received", chosen[done:], change_log)
                    if change_log:
                        change_log.for_user(user.user_name, user.user_id)
                    try:
                        outcome = remediate.remediate_user(
                            client,
                            user,
                            apply=self.apply,
                            helper_options=helper_options,
                            snapshot=snapshot,
                        )
                    except interruption.Interrupted as stopped:
                        self.interrupted(str(stopped), chosen[done:], change_log, part_way=True)
                    except BaseException:
                        self.finish()  # an AWS error stopped the run: show what was already done
                        raise
                    self.record(outcome)
                    done += 1

    def start(self, users: int) -> None:
        self.progress.total = users
        if self.format == "csv":
            print(output.remediation_csv_header(), file=self.stdout, flush=True)

    def record(self, outcome: dict[str, Any]) -> None:
        if self.account is not None:
            outcome = {"AccountId": self.account, **outcome}
        (self.failures if "Error" in outcome else self.results).append(outcome)
        self.progress.close()  # the bar and the report may share the terminal
        self.progress.update(advance=1)
        if self.format == "html":
            return
        if self.format == "table":
            separator = "\n" if len(self.results) + len(self.failures) > 1 else ""
            block = output.remediation_block(outcome, colour=self.colour)
            print(separator + block, file=self.stdout, flush=True)
        elif self.format == "csv":
            rows = output.remediation_csv_rows(outcome)
            if rows:
                print(rows, file=self.stdout, flush=True)
        elif self.apply:  # json: one document at the end; progress on stderr meanwhile
            state = outcome.get("Outcome") or outcome["Status"]
            print(
                f"remediate: {outcome['UserName']} ({outcome['UserId']}): {state}",
                file=self.stderr,
                flush=True,
            )

    def finish(self, **extra: object) -> None:
        if self.finished:
            return
        self.finished = True
        self.progress.close()
        if self.format == "json":
            document = output.remediation_document(self.results, self.failures, **extra)
            print(document, file=self.stdout, flush=True)
        elif self.format == "html":
            from no_direct_policies.cli.remediate import plan_picture  # noqa: PLC0415
            from no_direct_policies.findings.html_report import render_html  # noqa: PLC0415

            def contents(result: Mapping[str, Any], group: str) -> list[str] | None:
                snapshot = self.snapshots.get(result.get("AccountId"))
                return snapshot.carried(group) if snapshot is not None else None

            page = render_html(self.findings, plan=plan_picture(self.results, contents))
            print(page, file=self.stdout, end="", flush=True)
        elif self.format == "table" and not (self.results or self.failures):
            print("No user to remediate.", file=self.stdout, flush=True)

    def summarise(self, accounts_read: int, failed_accounts: Mapping[str, str]) -> None:
        """The one-line summary of the plan or of the apply (table: stdout; else stderr).

        None when there was nothing to do: the table already says "No user to remediate."
        """
        if not (self.results or self.failures or failed_accounts):
            return
        from no_direct_policies.move.request import MOVED, PLANNED  # noqa: PLC0415

        # moved (or, in a plan, to move): the users with actions; NOTHING_TO_MOVE apart
        done = [
            result
            for result in self.results
            if result["Status"] == MOVED or (result["Status"] == PLANNED and result["Actions"])
        ]
        idle = len(self.results) - len(done)
        changes = sum(len(result["Actions"]) for result in done)
        groups = len(
            {
                (result.get("AccountId"), action["GroupName"])
                for result in done
                for action in result["Actions"]
                if action["Action"] == "CreateGroup"
            }
        )
        several = accounts_read > 1 or failed_accounts
        where = f" in {accounts_read} accounts read" if several else ""
        changed = len({result.get("AccountId") for result in done})
        in_accounts = f" in {changed} accounts" if several else ""
        users = len(done)
        if self.apply:
            line = (
                f"Applied{where}: {users} users moved{in_accounts}, {changes} IAM changes made "
                f"({groups} groups created; run locks not counted)"
            )
        else:
            line = (
                f"Plan{where}: {users} users to move{in_accounts}, {changes} IAM changes "
                f"({groups} groups to create); nothing was changed, add --apply to make them"
            )
        if idle:
            line += f"; {idle} users with nothing to move"
        refused = sum(1 for failure in self.failures if failure["Outcome"] == "REFUSED")
        stopped = len(self.failures) - refused
        if refused or stopped:
            line += f"; {refused} refused, {stopped} stopped part-way"
        if failed_accounts:
            line += f"; {len(failed_accounts)} accounts could not be read"
        stream = self.stdout if self.format == "table" else self.stderr
        print(("\n" if self.format == "table" else "") + line, file=stream, flush=True)

    def interrupted(
        self,
        reason: str,
        remaining: Sequence[UserPolicies],
        change_log: ChangeLog | None,
        *,
        part_way: bool = False,
        command: str = "remediate",
    ) -> NoReturn:
        """Report what was done and what was not, then stop the run (exit 130).

        ``command`` is the one to run again: ``remediate`` (whose moves take a run lock,
        named in the message) or ``undo`` (which takes none).
        """
        self.finish(Interrupted=True)
        done = len(self.results) + len(self.failures)
        where = "between two users"
        if part_way:
            from no_direct_policies.move.plan import lock_group_name  # noqa: PLC0415

            user = remaining[0]
            lock = lock_group_name(user.user_id)
            held = (
                f"; its run lock group {lock}, if it was created, refuses another run of "
                f"{user.user_name} for 15 minutes: once nothing else is changing the user, "
                f"delete it with aws iam delete-group --group-name {lock}"
                if command == "remediate"
                else ""
            )
            where = (
                f"{user.user_name} was stopped part-way, at an IAM call boundary (its own "
                f"changes took nothing away and granted nothing; run {command} again to "
                f"finish it{held})"
            )
        not_started = [user.user_name for user in remaining[1 if part_way else 0 :]]
        record = f"; changes recorded in {change_log.path}" if change_log else ""
        raise interruption.Interrupted(
            f"interrupted ({reason}): stopped {where}; {done} users done, "
            f"{len(not_started)} not started{record}"
        )


def _note_inline_policies_left(
    args: argparse.Namespace,
    options: RuleOptions,
    chosen: Sequence[UserPolicies],
    results: Sequence[dict[str, Any]],
    stderr: TextIO,
) -> None:
    """The helper moves inline policies only when asked: say who stays NON_COMPLIANT."""
    if not options.check_inline_policies or args.move_inline_policies:
        return
    done = {result["UserName"] for result in results}
    for user in chosen:
        if user.user_name in done and user.inline_policy_names:
            print(
                f"note: {user.user_name} keeps its inline policies "
                f"({', '.join(user.inline_policy_names)}), so --check-inline-policies "
                "still finds it NON_COMPLIANT: add --move-inline-policies to move them",
                file=stderr,
            )
