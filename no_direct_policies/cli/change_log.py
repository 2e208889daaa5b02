"""The change log of ``remediate --apply --log FILE``: one JSON line per IAM change.

Each line is appended, flushed and synced to disk as soon as IAM answers the
call, before the helper makes its next call, so an interrupted or killed run
leaves a record of every change IAM confirmed. The lines are written from
botocore events on the CLI's IAM client: the helper's code is not touched.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from no_direct_policies.cli.errors import EXIT_OUTPUT_ERROR, EXIT_USAGE, CommandError

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# IAM operations that only read; every other call the helper makes changes IAM.
READ_ONLY_PREFIXES = ("Get", "List", "Simulate", "Generate")
OK = "ok"
_PARAMETERS = "change_log_parameters"


def is_change(operation: str) -> bool:
    """Whether an IAM operation changes the account (and so gets a line)."""
    return not operation.startswith(READ_ONLY_PREFIXES)


class ChangeLog:
    """An append-only JSON Lines file with one line per IAM change, written as it happens."""

    def __init__(self, path: str, account: str | None) -> None:
        self.path = path
        self.account = account
        self.user_name: str | None = None
        self.user_id: str | None = None
        self.lines = 0
        try:
            self._file: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as error:
            raise CommandError(
                f"cannot open the change log {path!r} for appending ({error.strerror}): "
                "check --log names a file in a writable folder",
                EXIT_USAGE,
            ) from error

    def close(self) -> None:
        self._file.close()

    def for_user(self, user_name: str, user_id: str) -> None:
        """The user whose remediation the next lines record."""
        self.user_name, self.user_id = user_name, user_id

    def attach(self, iam_client: IAMClient) -> None:
        """Record every change ``iam_client`` makes, with IAM's answer, as the call returns."""
        events = iam_client.meta.events
        events.register("provide-client-params.iam", self._remember_parameters)
        events.register_first("after-call.iam", self._after_call)
        events.register_first("after-call-error.iam", self._after_call_error)

    def _remember_parameters(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if is_change(model.name):
            context[_PARAMETERS] = dict(params)

    def _after_call(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        if _PARAMETERS in context:
            code = parsed.get("Error", {}).get("Code") or f"HTTP {http_response.status_code}"
            outcome = OK if http_response.status_code < 300 else code
            self.write(model.name, context[_PARAMETERS], outcome)

    def _after_call_error(
        self, exception: Exception, context: dict[str, Any], event_name: str, **_: Any
    ) -> None:
        if _PARAMETERS in context:
            # No answer from IAM: the change may or may not have been made.
            outcome = f"unknown ({type(exception).__name__})"
            self.write(event_name.rsplit(".", 1)[-1], context[_PARAMETERS], outcome)

    def write(self, action: str, parameters: dict[str, Any], outcome: str) -> None:
        """Append one line and put it on disk before returning."""
        line = json.dumps(
            {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "account": self.account,
                "user_name": self.user_name,
                "user_id": self.user_id,
                "action": action,
                "parameters": parameters,
                "outcome": outcome,
            },
            sort_keys=False,
        )
        try:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            raise CommandError(
                f"cannot write the change log {self.path!r} ({error.strerror}): the run "
                f"stopped at a safe point; this change is not in the log: {line}",
                EXIT_OUTPUT_ERROR,
            ) from error
        self.lines += 1
