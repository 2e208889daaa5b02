"""``no-direct-policies audit|remediate``: the rule and its fix from a shell.

Exit codes: 0 success (audit: every user compliant or exempt); 1 the audit
found a NON_COMPLIANT user, and nothing else; 2 bad arguments, rule or helper
options; 3 an AWS error (credentials, access denied, throttling after retries,
unreachable or silent endpoint, an answer that is not AWS's); 4 the remediation
refused a user (nothing was changed for that user); 5 the remediation stopped
part-way for a user, at a safe point; 6 the report could not be written
(standard output closed or full); 130 interrupted (SIGINT, SIGTERM); 141 the
reader of the output stopped early. Errors end with one line on stderr naming
the cause and the fix; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO, cast

from no_direct_policies import __version__
from no_direct_policies.cli import audit, interruption, output
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
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_NONCOMPLIANT,
    EXIT_OK,
    EXIT_OUTPUT_ERROR,
    EXIT_REFUSED,
    EXIT_STOPPED,
    EXIT_USAGE,
    CommandError,
    usage_error,
)
from no_direct_policies.compliance import RuleOptions, UserPolicies, parse_rule_parameters

PROG = "no-direct-policies"
_OPTION_OF_PARAMETER = {
    "ExemptUserNames": "--exempt-user-names",
    "ExemptUserPathPrefixes": "--exempt-user-path-prefixes",
    "ExemptPolicyArns": "--exempt-policy-arns",
    "CheckInlinePolicies": "--check-inline-policies",
    "ExemptUserTags": "--exempt-user-tags",
}


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
        help=f"give up connecting after this long, per attempt "
        f"(default {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    group.add_argument(
        "--read-timeout",
        type=_seconds,
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help=f"give up waiting for an answer after this long, per attempt "
        f"(default {DEFAULT_READ_TIMEOUT:g})",
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
        "--exempt-user-tags", default="", help="comma-separated tag keys or key=value"
    )
    group.add_argument(
        "--check-inline-policies",
        action="store_true",
        help="inline user policies also make a user NON_COMPLIANT",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar (public so docs/cli.md's options table is checked against it)."""
    parser = _Parser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    audit_parser = commands.add_parser(
        "audit", help="read-only: judge every IAM user (exit 1 if any is NON_COMPLIANT)"
    )
    _add_rule_options(audit_parser)
    _add_connection_options(audit_parser)
    audit_parser.add_argument("--format", choices=output.FORMATS, default="table")

    fix = commands.add_parser(
        "remediate", help="show (default) or --apply the move of users' policies to groups"
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
    _add_connection_options(fix)
    fix.add_argument("--format", choices=output.FORMATS, default="table")

    from no_direct_policies.cli import undo  # noqa: PLC0415 - undo's module imports this one

    undo.add_parser(commands)  # ``undo`` sets its own runner (args.runner)
    return parser


def _rule_options(args: argparse.Namespace) -> RuleOptions:
    try:
        return parse_rule_parameters(
            {
                "ExemptUserNames": args.exempt_user_names,
                "ExemptUserPathPrefixes": args.exempt_user_path_prefixes,
                "ExemptPolicyArns": args.exempt_policy_arns,
                "ExemptUserTags": args.exempt_user_tags,
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
    _, rows = audit.audit_account(_client(args), options, on_page=audit.progress_printer(stderr))
    print(output.render_audit(rows, args.format, colour=output.use_colour(stdout)), file=stdout)
    return EXIT_NONCOMPLIANT if audit.any_noncompliant(rows) else EXIT_OK


def run_remediate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``remediate``: the helper's plan (dry run) or, with ``--apply``, its result.

    Each user's outcome is printed (and flushed) as soon as the user is done; with
    ``--apply`` SIGINT / SIGTERM stop the run at a safe point (see interruption).
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
    client = _client(args)
    change_log = _open_change_log(args) if args.apply and args.log else None
    try:
        users, _ = audit.audit_account(client, options, on_page=audit.progress_printer(stderr))
        chosen, skipped = remediate.select_users(users, args.user, options)
        for skip in skipped:
            print(
                f"{skip['UserName']}: skipped, the rule exempts it: {skip['Reason']}", file=stderr
            )
        if change_log:
            change_log.attach(client)
        run = _RemediationRun(args, stdout, stderr)
        run.start()
        with interruption.deferred_stop() as stop:
            client.meta.events.register("before-call.iam", stop.check_call_boundary)
            for index, user in enumerate(chosen):
                if stop.requested:
                    run.interrupted(f"{stop.received[0]} received", chosen[index:], change_log)
                if change_log:
                    change_log.for_user(user.user_name, user.user_id)
                try:
                    outcome = remediate.remediate_user(
                        client, user, apply=args.apply, helper_options=helper_options
                    )
                except interruption.Interrupted as stopped:
                    run.interrupted(str(stopped), chosen[index:], change_log, part_way=True)
                except BaseException:
                    run.finish()  # an AWS error stopped the run: show what was already done
                    raise
                run.record(outcome)
        run.finish()
    finally:
        if change_log:
            change_log.close()
    _note_inline_policies_left(args, options, chosen, run.results, stderr)
    for failure in run.failures:
        what = "Refused" if failure["Outcome"] == remediate.REFUSED else "Stopped part-way"
        print(f"error: {failure['UserName']}: {what}: {failure['Error']}", file=stderr)
    outcomes = {failure["Outcome"] for failure in run.failures}
    if remediate.STOPPED in outcomes:
        return EXIT_STOPPED
    return EXIT_REFUSED if outcomes else EXIT_OK


def _open_change_log(args: argparse.Namespace) -> ChangeLog:
    """The change log, with the caller's account ID (asked once, before any change)."""
    sts = aws_client(
        "sts",
        profile=args.profile,
        region=args.region,
        endpoint_url=args.endpoint_url,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
    )
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
        self.finished = False

    def start(self) -> None:
        if self.format == "csv":
            print(output.remediation_csv_header(), file=self.stdout, flush=True)

    def record(self, outcome: dict[str, Any]) -> None:
        (self.failures if "Error" in outcome else self.results).append(outcome)
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
        if self.format == "json":
            document = output.remediation_document(self.results, self.failures, **extra)
            print(document, file=self.stdout, flush=True)
        elif self.format == "table" and not (self.results or self.failures):
            print("No user to remediate.", file=self.stdout, flush=True)

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


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one command; returns the exit code (see the module docstring)."""
    stderr = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        report = ReportStream(stdout or sys.stdout)
        runner = getattr(args, "runner", None) or (
            run_audit if args.command == "audit" else run_remediate
        )
        code = runner(args, cast(TextIO, report), stderr)  # it writes as a text stream does
        report.flush()
    except CommandError as error:
        return _fail(error, stderr)
    except interruption.Interrupted as stopped:
        print(f"error: {stopped}", file=stderr, flush=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("error: interrupted (SIGINT received) before any change", file=stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception as error:
        described = describe_aws_error(error)
        if described is None:
            raise  # a bug, not a user error: keep the traceback
        return _fail(described, stderr)
    return code


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
