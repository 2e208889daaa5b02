"""``no-direct-policies audit|remediate``: the rule and its fix from a shell.

Exit codes: 0 success (audit: every user compliant or exempt); 1 the audit
found a NON_COMPLIANT user, and nothing else; 2 bad arguments, rule or helper
options; 3 an AWS error (credentials, access denied, throttling after retries,
unreachable or silent endpoint, an answer that is not AWS's); 4 the remediation
refused a user (nothing was changed for that user); 5 the remediation stopped
part-way for a user, at a safe point; 6 the report could not be written
(standard output closed or full); 7 some accounts could not be audited (the
others were); 70 internal error (a bug: --debug shows the traceback); 130
interrupted (SIGINT, SIGTERM); 141 the reader of the output stopped early.
Errors end with one line on stderr naming the cause and the fix; no traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TextIO, cast

from no_direct_policies import __version__
from no_direct_policies.cli import (
    accounts,
    audit,
    audit_command,
    interruption,
    organization,
    output,
    report,
)
from no_direct_policies.cli.change_log import ChangeLog
from no_direct_policies.cli.clients import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    aws_client,
    describe_aws_error,
    iam_client,
)
from no_direct_policies.cli.echo import shorten, shorten_quoted
from no_direct_policies.cli.errors import (
    EXIT_ACCOUNTS_FAILED,
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT_ERROR,
    EXIT_REFUSED,
    EXIT_STOPPED,
    EXIT_USAGE,
    CommandError,
    usage_error,
)
from no_direct_policies.cli.organization import Account
from no_direct_policies.cli.progress import Progress
from no_direct_policies.compliance import RuleOptions, UserPolicies, parse_rule_parameters
from no_direct_policies.findings.model import COMPLIANCE_TYPES, RULE_NAME, Finding

PROG = "no-direct-policies"
_OPTION_OF_PARAMETER = {
    "ExemptUserNames": "--exempt-user-names",
    "ExemptUserPathPrefixes": "--exempt-user-path-prefixes",
    "ExemptPolicyArns": "--exempt-policy-arns",
    "CheckInlinePolicies": "--check-inline-policies",
}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Examples kept as written; every option with a default shows it."""


AUDIT_EXAMPLES = """examples:
  no-direct-policies audit                                  # this account, a table
  no-direct-policies audit --status NON_COMPLIANT --user john
  no-direct-policies audit --format json > findings.json
  no-direct-policies audit --format html > report.html      # one self-contained page
  no-direct-policies audit --format asff --send-to-security-hub
  no-direct-policies audit --org --role-name AuditRole --jobs 8 --format junit
  no-direct-policies audit --org --exclude-accounts 111111111111
  no-direct-policies audit --aggregator org-aggregator      # what Config recorded

exit codes: 0 all compliant, 1 NON_COMPLIANT users, 2 usage, 3 AWS error,
  6 output, 7 some accounts could not be audited, 70 internal error,
  130 interrupted (docs/cli.md, Exit codes)
"""

REMEDIATE_EXAMPLES = """examples:
  no-direct-policies remediate                              # the plan; nothing changes
  no-direct-policies remediate --user john --apply --log changes.jsonl
  no-direct-policies remediate --format html > plan.html    # the plan as a picture
  no-direct-policies remediate --org --role-name AuditRole  # the plan of every account

exit codes: 0 done, 2 usage, 3 AWS error, 4 a user refused, 5 a user stopped
  part-way, 6 output, 7 some accounts could not be read, 70 internal error,
  130 interrupted (docs/cli.md, Exit codes)
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line and exit code 2, without usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandError(f"{message} (see {self.prog} --help)", EXIT_USAGE)


def _seconds(text: str) -> float:
    """A timeout option's value: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"{shorten(text)!r} is not a positive number of seconds (e.g. 5 or 0.5)"
        )
    return value


class OutputError(CommandError):
    """Standard output cannot take the report (closed, or its disk is full)."""

    def __init__(self, cause: str) -> None:
        super().__init__(
            f"cannot write the report to standard output ({cause}): redirect it to a "
            "file on a disk with free space, or to a pipe",
            EXIT_OUTPUT_ERROR,
        )


class ReportStream:
    """Standard output that reports a failed write as OutputError (a reader that stops
    early, BrokenPipeError, is left to the entry point: it is not an error)."""

    def __init__(self, stream: TextIO | None) -> None:
        if stream is None:  # Python's sys.stdout when file descriptor 1 was closed
            raise OutputError("standard output is closed")
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as error:  # ValueError: I/O on a closed file
            raise OutputError(getattr(error, "strerror", None) or str(error)) from error

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as error:
            raise OutputError(getattr(error, "strerror", None) or str(error)) from error

    def isatty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS connection (standard credential chain)")
    group.add_argument("--profile", help="named profile from ~/.aws/config")
    group.add_argument("--region", help="region for signing (IAM is global; default us-east-1)")
    group.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="AWS endpoint, e.g. a moto server or LocalStack (default: AWS_ENDPOINT_URL)",
    )
    group.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=DEFAULT_CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="give up connecting after this long, per attempt",
    )
    group.add_argument(
        "--read-timeout",
        type=_seconds,
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help="give up waiting for an answer after this long, per attempt",
    )


def _add_rule_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("rule options (the rule's parameters, same syntax)")
    group.add_argument("--exempt-user-names", default="", help="comma-separated user names")
    group.add_argument(
        "--exempt-user-path-prefixes",
        default="",
        help="comma-separated IAM paths, e.g. /breakglass/",
    )
    group.add_argument(
        "--exempt-policy-arns", default="", help="comma-separated managed policy ARNs"
    )
    group.add_argument(
        "--check-inline-policies",
        action="store_true",
        help="inline user policies also make a user NON_COMPLIANT",
    )


def _add_debug_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="on an internal error, print the traceback",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar (public so docs/cli.md's options table is checked against it)."""
    parser = _Parser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_debug_option(parser, False)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    audit_parser = commands.add_parser(
        "audit",
        help="read-only: judge every IAM user (exit 1 if any is NON_COMPLIANT)",
        description="Judge every IAM user with the rule IAM_USER_NO_DIRECT_POLICIES; "
        "nothing is changed.",
        epilog=AUDIT_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    audit_parser.add_argument("--format", choices=report.FORMATS, default="table")
    audit_parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME",
        help="show only this user (repeatable; default: every user)",
    )
    audit_parser.add_argument(
        "--status",
        action="append",
        default=[],
        choices=COMPLIANCE_TYPES,
        help="show only users with this verdict (repeatable; default: every verdict)",
    )
    audit_parser.add_argument(
        "--send-to-security-hub",
        action="store_true",
        help="with --format asff: also import the findings (BatchImportFindings, each "
        "account's own Security Hub)",
    )
    audit_parser.add_argument(
        "--aggregator",
        metavar="NAME",
        help="read the verdicts the deployed rule recorded, from this Config aggregator",
    )
    audit_parser.add_argument(
        "--rule-name",
        default=RULE_NAME,
        help="with --aggregator: the deployed rule's name",
    )
    _add_rule_options(audit_parser)
    accounts.add_account_options(audit_parser)
    _add_connection_options(audit_parser)
    _add_debug_option(audit_parser, argparse.SUPPRESS)

    fix = commands.add_parser(
        "remediate",
        help="show (default) or --apply the move of users' policies to groups",
        description="Move the policies attached directly to users onto groups, with the "
        "remediation helper's own code: a plan by default, the change with --apply.",
        epilog=REMEDIATE_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    fix.add_argument("--apply", action="store_true", help="execute the plan (default: dry run)")
    fix.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME",
        help="user to remediate (repeatable; default: every NON_COMPLIANT user)",
    )
    helper = fix.add_argument_group("helper options (as the SSM document's parameters)")
    helper.add_argument("--group-path", help="path of the groups created (helper default)")
    helper.add_argument("--group-name-prefix", help="prefix of group names (helper default)")
    helper.add_argument(
        "--move-inline-policies",
        action="store_true",
        help="also move inline user policies to the group",
    )
    fix.add_argument(
        "--log",
        metavar="FILE",
        help="with --apply: append one JSON line per IAM change to FILE, as it happens",
    )
    _add_rule_options(fix)
    accounts.add_account_options(fix)
    _add_connection_options(fix)
    fix.add_argument("--format", choices=output.FORMATS, default="table")
    _add_debug_option(fix, argparse.SUPPRESS)

    return parser


def _rule_options(args: argparse.Namespace) -> RuleOptions:
    try:
        return parse_rule_parameters(
            {
                "ExemptUserNames": args.exempt_user_names,
                "ExemptUserPathPrefixes": args.exempt_user_path_prefixes,
                "ExemptPolicyArns": args.exempt_policy_arns,
                "CheckInlinePolicies": "true" if args.check_inline_policies else "false",
            }
        )
    except ValueError as error:
        raise usage_error(error, _OPTION_OF_PARAMETER) from error


def _client(args: argparse.Namespace) -> Any:
    return iam_client(
        profile=args.profile,
        region=args.region,
        endpoint_url=args.endpoint_url,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
    )


def run_audit(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``audit``: print every user's verdict; exit 1 when any user is NON_COMPLIANT."""
    options = _rule_options(args)
    client = None if accounts.wants_accounts(args) or args.aggregator else _client(args)
    return audit_command.run_audit(args, options, client, stdout, stderr)


class _Workload:
    """One account's part of a ``remediate`` run: its client, its users, the chosen ones."""

    def __init__(self, account: Account | None, client: Any) -> None:
        self.account, self.client = account, client
        self.users: list[UserPolicies] = []
        self.findings: list[Finding] = []
        self.chosen: list[UserPolicies] = []


def _read_workloads(
    args: argparse.Namespace, options: RuleOptions, stderr: TextIO
) -> tuple[list[_Workload], dict[str, str]]:
    """Every account's users (the findings too, for the HTML page); failed accounts apart."""
    keep_findings = args.format == "html"
    if not accounts.wants_accounts(args):
        workload = _Workload(None, _client(args))
        with Progress(stderr, "reading IAM users", unit="users") as progress:
            for user, finding in audit.iter_findings(
                workload.client,
                options,
                region=accounts.region(args),
                on_page=lambda users: progress.update(done=users),
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
            workload.client, options, account_id=account.account_id, region=region
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


def run_remediate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``remediate``: the helper's plan (dry run) or, with ``--apply``, its result.

    Each user's outcome is printed (and flushed) as soon as the user is done; with
    ``--apply`` SIGINT / SIGTERM stop the run at a safe point (see interruption).
    Several accounts are read concurrently, then remediated one after the other.
    """
    from no_direct_policies.cli import remediate  # noqa: PLC0415 - audit must not need the helper

    options = _rule_options(args)
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
        workloads, failed_accounts = _read_workloads(args, options, stderr)
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
                for user in workload.chosen:
                    if stop.requested:
                        self.interrupted(f"{stop.received[0]} received", chosen[done:], change_log)
                    if change_log:
                        change_log.for_user(user.user_name, user.user_id)
                    try:
                        outcome = remediate.remediate_user(
                            client, user, apply=self.apply, helper_options=helper_options
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

            page = render_html(self.findings, plan=plan_picture(self.results))
            print(page, file=self.stdout, end="", flush=True)
        elif self.format == "table" and not (self.results or self.failures):
            print("No user to remediate.", file=self.stdout, flush=True)

    def summarise(self, accounts_read: int, failed_accounts: Mapping[str, str]) -> None:
        """The one-line summary of the plan or of the apply (table: stdout; else stderr).

        None when there was nothing to do: the table already says "No user to remediate."
        """
        if not (self.results or self.failures or failed_accounts):
            return
        changes = sum(len(result["Actions"]) for result in self.results)
        groups = len(
            {
                (result.get("AccountId"), action["GroupName"])
                for result in self.results
                for action in result["Actions"]
                if action["Action"] == "CreateGroup"
            }
        )
        where = f" in {accounts_read} accounts" if accounts_read > 1 or failed_accounts else ""
        users = len(self.results)
        if self.apply:
            line = (
                f"Applied{where}: {users} users moved, {changes} IAM changes made "
                f"({groups} groups created)"
            )
        else:
            line = (
                f"Plan{where}: {users} users, {changes} IAM changes ({groups} groups to "
                "create); nothing was changed, add --apply to make them"
            )
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
    ) -> NoReturn:
        """Report what was done and what was not, then stop the run (exit 130)."""
        self.finish(Interrupted=True)
        done = len(self.results) + len(self.failures)
        where = (
            f"{remaining[0].user_name} was stopped part-way, at an IAM call boundary "
            "(nothing lost or granted; run remediate again to finish it)"
            if part_way
            else "between two users"
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like SIGINT (Ctrl-C): one line and exit 130."""


def _on_sigterm(signum: int, _frame: object) -> None:
    raise Terminated(signal.Signals(signum).name)


def _install_sigterm() -> Any:
    """SIGTERM raises Terminated in the main thread; returns the handler it replaced."""
    try:
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        return None


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one command; returns the exit code (see the module docstring)."""
    stderr = stderr or sys.stderr
    previous = _install_sigterm()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        stream = ReportStream(stdout or sys.stdout)
        runner = run_audit if args.command == "audit" else run_remediate
        code = runner(args, cast(TextIO, stream), stderr)  # it writes as a text stream does
        stream.flush()
    except CommandError as error:
        return _fail(error, stderr)
    except interruption.Interrupted as stopped:
        print(f"error: {stopped}", file=stderr, flush=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt as interrupt:
        name = str(interrupt) if isinstance(interrupt, Terminated) else "SIGINT"
        print(f"error: interrupted ({name} received) before any change", file=stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise  # the reader stopped early: run() ends quietly
    except Exception as error:
        described = describe_aws_error(error)
        if described is not None:
            return _fail(described, stderr)
        return _internal_error(error, stderr, debug=debug)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return code


def _internal_error(error: Exception, stderr: TextIO, *, debug: bool) -> int:
    """A bug, not a user error: one line (the traceback with --debug), exit 70."""
    if debug:
        traceback.print_exception(error, file=stderr)
    where = "" if debug else "; run with --debug for the traceback"
    print(
        f"error: internal error ({type(error).__name__}: {shorten(str(error), 200)}){where}",
        file=stderr,
        flush=True,
    )
    return EXIT_INTERNAL_ERROR


def _fail(error: CommandError, stderr: TextIO) -> int:
    """Print the error's one line (echoed values shortened) and return its exit code."""
    print(f"error: {shorten_quoted(str(error))}", file=stderr, flush=True)
    return error.exit_code


def run() -> int:
    """The console command: ``main`` on the process's arguments and streams.

    A reader that stops early (``| head``) is not an error worth a traceback; what is
    still buffered then cannot be written, so it is dropped to keep the exit flush quiet.
    """
    try:
        code = main()
    except BrokenPipeError:
        code = EXIT_BROKEN_PIPE
    if code in {EXIT_BROKEN_PIPE, EXIT_OUTPUT_ERROR} and sys.stdout is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code
