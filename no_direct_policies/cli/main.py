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
from collections.abc import Sequence
from typing import Any, TextIO, cast

from no_direct_policies import __version__
from no_direct_policies.cli import (
    accounts,
    audit_command,
    interruption,
    output,
    remediate_command,
    report,
)
from no_direct_policies.cli.clients import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    describe_aws_error,
    iam_client,
)
from no_direct_policies.cli.echo import shorten, shorten_quoted
from no_direct_policies.cli.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT_ERROR,
    EXIT_USAGE,
    CommandError,
    usage_error,
)
from no_direct_policies.compliance import RuleOptions, parse_rule_parameters
from no_direct_policies.findings.model import COMPLIANCE_TYPES, RULE_NAME

PROG = "no-direct-policies"
_OPTION_OF_PARAMETER = {
    "ExemptUserNames": "--exempt-user-names",
    "ExemptUserPathPrefixes": "--exempt-user-path-prefixes",
    "ExemptPolicyArns": "--exempt-policy-arns",
    "CheckInlinePolicies": "--check-inline-policies",
    "ExemptUserTags": "--exempt-user-tags",
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
        "--exempt-user-tags", default="", help="comma-separated tag keys or key=value"
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
    client = None if accounts.wants_accounts(args) or args.aggregator else _client(args)
    return audit_command.run_audit(args, options, client, stdout, stderr)


def run_remediate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``remediate``: the helper's plan (dry run) or, with ``--apply``, its result."""
    options = _rule_options(args)
    return remediate_command.run_remediate(args, options, lambda: _client(args), stdout, stderr)


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
    # stderr closed (file descriptor 2): errors are dropped, never mixed into the report
    stderr = stderr or sys.stderr or open(os.devnull, "w")  # noqa: SIM115 - lives for the run
    previous = _install_sigterm()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        stream = ReportStream(stdout or sys.stdout)
        runner = getattr(args, "runner", None) or (
            run_audit if args.command == "audit" else run_remediate
        )
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
