"""The command-line tool's exit codes and the one-line errors it ends with."""

from __future__ import annotations

from collections.abc import Mapping


class CommandError(Exception):
    """A failure the user can fix; the CLI prints the message as one line and exits."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def usage_error(error: Exception, option_of_name: Mapping[str, str]) -> CommandError:
    """A usage error from a validation message that names a parameter or payload key.

    The rule and the helper name their own parameters; the user typed an option,
    so the message also names the option that carries the value.
    """
    options = [option for name, option in option_of_name.items() if name in str(error)]
    where = f" (command-line option {options[0]})" if options else ""
    return CommandError(f"{error}{where}", EXIT_USAGE)


# Exit codes of the command-line tool (documented in docs/cli.md, Exit codes).
EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_USAGE = 2
EXIT_AWS_ERROR = 3
EXIT_REFUSED = 4
EXIT_STOPPED = 5
EXIT_OUTPUT_ERROR = 6
EXIT_ACCOUNTS_FAILED = 7  # some accounts could not be audited (or remediated); never 1
EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug in the tool, not in the account or the options
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `| head`
