"""``no-direct-policies undo --user NAME ... [--apply]``: take the move back for named users.

The work is done by the helper's own undo (``no_direct_policies.move.undo``,
the code ``RestoreIAMUserPoliciesFromGroups`` runs), so the command line keeps
every guarantee of the SSM document. By default it is a dry run and the plan is
shown; ``--apply`` executes it. Output formats, the change log (``--log``),
interruption and exit codes are ``remediate``'s.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from no_direct_policies.cli import interruption, main, output, remediate_command
from no_direct_policies.cli.errors import (
    EXIT_REFUSED,
    EXIT_STOPPED,
    EXIT_USAGE,
    CommandError,
    usage_error,
)
from no_direct_policies.compliance import UserPolicies

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


def add_parser(commands: Any) -> None:
    """Register ``undo`` on the tool's subcommands."""
    undo = commands.add_parser(
        "undo",
        help="show (default) or --apply the undo of the move: policies back on the user directly",
    )
    undo.set_defaults(runner=run_undo)
    undo.add_argument("--apply", action="store_true", help="execute the plan (default: dry run)")
    undo.add_argument(
        "--user",
        action="append",
        required=True,
        metavar="NAME",
        help="user whose remediation to undo (repeatable)",
    )
    helper = undo.add_argument_group("helper options (as the SSM document's parameters)")
    helper.add_argument("--group-path", help="path of the remediation's groups (helper default)")
    undo.add_argument(
        "--log",
        metavar="FILE",
        help="with --apply: append one JSON line per IAM change to FILE, as it happens",
    )
    main._add_connection_options(undo)
    undo.add_argument("--format", choices=output.FORMATS, default="table")


def _payload(user_name: str, args: argparse.Namespace) -> dict[str, Any]:
    payload: dict[str, Any] = {"UserName": user_name, "DryRun": not args.apply}
    if args.group_path is not None:
        payload["GroupPath"] = args.group_path
    return payload


def _named_users(client: IAMClient, names: list[str]) -> list[UserPolicies]:
    """The named users (their IDs), checked before anything runs."""
    from no_direct_policies.move.iam_reads import user_id_of  # noqa: PLC0415

    users, missing = [], []
    for name in dict.fromkeys(names):  # keep order, drop repeats
        user_id = user_id_of(client, name)
        if user_id is None:
            missing.append(name)
        else:
            users.append(UserPolicies(user_name=name, user_id=user_id, path="/"))
    if missing:
        raise CommandError(
            f"no IAM user named {', '.join(repr(name) for name in missing)} in this account: "
            "check --user (user names are case-sensitive)",
            EXIT_USAGE,
        )
    return users


def undo_user(client: IAMClient, user: UserPolicies, args: argparse.Namespace) -> dict[str, Any]:
    """The undo's result for one user, or ``{"UserName", "UserId", "Outcome", "Error"}``."""
    from no_direct_policies.cli.remediate import failure_outcome  # noqa: PLC0415
    from no_direct_policies.move.plan import RemediationError  # noqa: PLC0415
    from no_direct_policies.move.undo import (  # noqa: PLC0415
        parse_undo_payload,
        restore_user_policies,
    )

    try:
        return restore_user_policies(client, parse_undo_payload(_payload(user.user_name, args)))
    except RemediationError as error:
        return failure_outcome(user, error)


def run_undo(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``undo``: the plan (dry run) or, with ``--apply``, the result, user by user.

    The helper's code is imported here, not with the module: ``audit`` must not need it.
    """
    from no_direct_policies.cli.remediate import REFUSED, STOPPED  # noqa: PLC0415
    from no_direct_policies.move.plan import RemediationError  # noqa: PLC0415
    from no_direct_policies.move.undo import parse_undo_payload  # noqa: PLC0415

    try:
        parse_undo_payload(_payload("option-check", args))
    except RemediationError as error:
        raise usage_error(error, {"GroupPath": "--group-path"}) from error
    client = main._client(args)
    change_log = remediate_command._open_change_log(args) if args.apply and args.log else None
    run = remediate_command._RemediationRun(args, stdout, stderr)
    try:
        users = _named_users(client, args.user)
        if change_log:
            change_log.attach(client)
        run.start(len(users))
        with interruption.deferred_stop() as stop:
            client.meta.events.register("before-call.iam", stop.check_call_boundary)
            for index, user in enumerate(users):
                if stop.requested:
                    run.interrupted(f"{stop.received[0]} received", users[index:], change_log)
                if change_log:
                    change_log.for_user(user.user_name, user.user_id)
                try:
                    outcome = undo_user(client, user, args)
                except interruption.Interrupted as stopped:
                    run.interrupted(
                        str(stopped), users[index:], change_log, part_way=True, command="undo"
                    )
                except BaseException:
                    run.finish()
                    raise
                run.record(outcome)
        run.finish()
    finally:
        run.progress.close()
        if change_log:
            change_log.close()
    for failure in run.failures:
        what = "Refused" if failure["Outcome"] == REFUSED else "Stopped part-way"
        print(f"error: {failure['UserName']}: {what}: {failure['Error']}", file=stderr)
    outcomes = {failure["Outcome"] for failure in run.failures}
    if STOPPED in outcomes:
        return EXIT_STOPPED
    return EXIT_REFUSED if outcomes else 0
