"""Plan or apply the move of users' directly attached policies to groups.

The work is done by the remediation helper's own ``parse_payload`` and
``move_user_policies`` (the code the helper Lambda runs), so the command line
keeps every safety invariant of the automatic remediation. By default the
helper runs as a dry run and the plan is shown; ``--apply`` executes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from no_direct_policies.cli.errors import EXIT_USAGE, CommandError, usage_error
from no_direct_policies.compliance import (
    NON_COMPLIANT,
    NOT_APPLICABLE,
    RuleOptions,
    UserPolicies,
    decide,
)
from no_direct_policies.move.account_snapshot import AccountSnapshot
from no_direct_policies.move.plan import RemediationStopped
from no_direct_policies.move.request import (
    RemediationError,
    move_read_user,
    move_user_policies,
    parse_payload,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from no_direct_policies.cli.audit import AccountDetails


def select_users(
    users: Sequence[UserPolicies], names: Sequence[str], options: RuleOptions
) -> tuple[list[UserPolicies], list[dict[str, str]]]:
    """The users to remediate, and the named users skipped because the rule exempts them.

    With no ``names``, every NON_COMPLIANT user. Named users must exist (checked
    before anything runs); a named user the rule exempts is skipped, never moved.
    """
    by_name = {user.user_name: user for user in users}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise CommandError(
            f"no IAM user named {', '.join(repr(name) for name in missing)} in this account: "
            "check --user (user names are case-sensitive)",
            EXIT_USAGE,
        )
    if not names:
        chosen = [user for user in users if decide(user, options).compliance_type == NON_COMPLIANT]
        return chosen, []
    chosen, skipped = [], []
    for name in dict.fromkeys(names):  # keep order, drop repeats
        verdict = decide(by_name[name], options)
        if verdict.compliance_type == NOT_APPLICABLE:
            skipped.append({"UserName": name, "Reason": verdict.annotation})
        else:
            chosen.append(by_name[name])
    return chosen, skipped


def helper_payload(
    user_name: str, *, apply: bool, helper_options: Mapping[str, Any]
) -> dict[str, Any]:
    """The helper's payload for one user; options left unset keep the helper's defaults."""
    payload: dict[str, Any] = {"UserName": user_name, "DryRun": not apply}
    payload.update({key: value for key, value in helper_options.items() if value is not None})
    return payload


# The helper's payload keys and the command-line options that set them.
_OPTION_OF_KEY = {
    "GroupPath": "--group-path",
    "GroupNamePrefix": "--group-name-prefix",
    "ExemptPolicyArns": "--exempt-policy-arns",
}


def check_helper_options(helper_options: Mapping[str, Any]) -> None:
    """Validate the helper options with the helper's own parser, before any user is touched.

    Raises CommandError (a usage error) naming the option, the value and the fix.
    """
    try:
        parse_payload(helper_payload("option-check", apply=False, helper_options=helper_options))
    except RemediationError as error:
        raise usage_error(error, _OPTION_OF_KEY) from error


REFUSED = "REFUSED"
STOPPED = "STOPPED"


def account_snapshot(iam_client: IAMClient, details: AccountDetails) -> AccountSnapshot:
    """The account as read once (users and groups), to plan every chosen user against."""
    return AccountSnapshot(iam_client, details.users, details.groups)


def remediate_user(
    iam_client: IAMClient,
    user: UserPolicies,
    *,
    apply: bool,
    helper_options: Mapping[str, Any],
    snapshot: AccountSnapshot | None = None,
) -> dict[str, Any]:
    """Run the helper for one user: its result, or ``{"UserName", "UserId", "Outcome", "Error"}``.

    ``Outcome`` is REFUSED when the helper refused before any IAM change
    (RemediationRefused, or a plain RemediationError), and STOPPED when it stopped
    part-way at a safe point (RemediationStopped): some changes made, nothing lost
    or granted. Either way the other users still get their turn. An AWS error
    propagates: it stops the run.

    With a ``snapshot`` the user is planned against the account as read once, and only
    the reads its writes need are made for it (``move_read_user``); without one the
    helper reads the user as the Lambda does.
    """
    try:  # a name IAM would reject is the helper's refusal, as the document would report it
        request = parse_payload(
            helper_payload(user.user_name, apply=apply, helper_options=helper_options)
        )
        if snapshot is None:
            return move_user_policies(iam_client, request)
        options = request.options
        state = snapshot.user_state(user.user_name, with_inline=options.move_inline_policies)
        return move_read_user(
            iam_client, state, options, dry_run=request.dry_run, snapshot=snapshot
        )
    except RemediationError as error:
        return failure_outcome(user, error)


def failure_outcome(user: UserPolicies, error: RemediationError) -> dict[str, Any]:
    """A user's outcome when the helper refused it or stopped part-way (the move or the undo)."""
    return {
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Outcome": STOPPED if isinstance(error, RemediationStopped) else REFUSED,
        "Error": getattr(error, "reason", str(error)),  # the Outcome names the kind
    }


def plan_picture(
    results: Sequence[Mapping[str, Any]],
    contents: Callable[[Mapping[str, Any], str], list[str] | None] | None = None,
) -> list[dict[str, Any]]:
    """The helper's results as ``render_html``'s plan: per user, the groups it joins,
    the policies each group carries, and the policies that leave the user.

    ``contents(result, group)`` says what a group carries (the account's read, kept
    current with the run's plans), to which what the plan adds is joined. Without it,
    or when it does not know the group, a group carries what the plan adds to it, or,
    for one the plan adds nothing to, the moved policies whose name its name holds (the
    helper names groups after their policies), and none when its name holds none.
    """
    picture = []
    for result in results:
        groups = list(result.get("Groups") or ())
        carried: dict[str, list[str]] = {group: [] for group in groups}
        detached: list[str] = []
        for action in result.get("Actions") or ():
            kind = action.get("Action")
            if kind == "AttachGroupPolicy":
                carried.setdefault(action["GroupName"], []).append(action["PolicyArn"])
            elif kind == "PutGroupPolicy":
                carried.setdefault(action["GroupName"], []).append(action["PolicyName"])
            elif kind == "DetachUserPolicy":
                detached.append(action["PolicyArn"])
            elif kind == "DeleteUserPolicy":
                detached.append(action["PolicyName"])
        moved = list(result.get("MovedPolicyArns") or ()) or detached
        covered = {policy for policies in carried.values() for policy in policies}
        uncovered = [policy for policy in moved if policy not in covered]
        for group, adding in carried.items():
            known = contents(result, group) if contents is not None else None
            if known is not None:  # what it carries, and what the plan adds to it
                carried[group] = [*known, *(p for p in adding if p not in known)]
            elif not adding:
                carried[group] = [p for p in uncovered if p.rsplit("/", 1)[-1] in group]
        picture.append(
            {
                "UserName": result["UserName"],
                "GroupsToJoin": groups,
                "GroupPolicies": carried,
                "PoliciesToDetach": detached or moved,
            }
        )
    return picture
