"""The many-account options of ``audit`` and ``remediate``, and the clients they lead to."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError

from no_direct_policies.cli import organization
from no_direct_policies.cli.clients import DEFAULT_REGION, aws_client
from no_direct_policies.cli.errors import EXIT_USAGE, CommandError
from no_direct_policies.cli.organization import Account


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= organization.MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"{text[:20]!r} is not a whole number of accounts at once from 1 to "
            f"{organization.MAX_JOBS}"
        )
    return value


def add_account_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "many accounts (from the management account or a delegated administrator)"
    )
    group.add_argument(
        "--org",
        action="store_true",
        help="every ACTIVE account of the Organization, through --role-name in each",
    )
    group.add_argument(
        "--accounts",
        default="",
        metavar="IDS",
        help="comma-separated account IDs: only these (without --org: these accounts, "
        "no Organizations call)",
    )
    group.add_argument(
        "--exclude-accounts",
        default="",
        metavar="IDS",
        help="with --org: comma-separated account IDs to leave out",
    )
    group.add_argument(
        "--role-name",
        default=organization.DEFAULT_ROLE_NAME,
        help="role assumed in each account",
    )
    group.add_argument("--external-id", help="external ID the role's trust policy requires")
    group.add_argument(
        "--jobs",
        type=_jobs,
        default=organization.DEFAULT_JOBS,
        metavar="N",
        help="accounts read at the same time",
    )


def wants_accounts(args: argparse.Namespace) -> bool:
    """Whether the run goes through role assumption into several accounts."""
    return bool(args.org or args.accounts)


def connection(args: argparse.Namespace) -> dict[str, Any]:
    """The connection options, as ``aws_client`` takes them."""
    return {
        "profile": args.profile,
        "region": args.region,
        "endpoint_url": args.endpoint_url,
        "connect_timeout": args.connect_timeout,
        "read_timeout": args.read_timeout,
    }


def region(args: argparse.Namespace) -> str:
    """The region findings are reported in: --region, the profile's or the environment's."""
    if args.region:
        return str(args.region)
    try:
        configured = boto3.Session(profile_name=args.profile).region_name
    except BotoCoreError:
        configured = None
    return configured or DEFAULT_REGION


def resolve(args: argparse.Namespace) -> tuple[list[Account], dict[str, str]]:
    """The accounts to work on, and the failures known before any work (unknown IDs)."""
    only = organization.parse_account_ids(args.accounts, "--accounts")
    exclude = organization.parse_account_ids(args.exclude_accounts, "--exclude-accounts")
    if exclude and not args.org:
        raise CommandError(
            "--exclude-accounts narrows --org: add --org, or list the accounts with --accounts",
            EXIT_USAGE,
        )
    if args.accounts and not only:
        raise CommandError(
            f"--accounts holds no account ID ({args.accounts[:20]!r}): give comma-separated "
            "account IDs, e.g. 111111111111,222222222222",
            EXIT_USAGE,
        )
    if not args.org:
        return [Account(account_id) for account_id in only], {}
    listed = organization.list_accounts(aws_client("organizations", **connection(args)))
    chosen, missing = organization.select_accounts(listed, only, exclude)
    if not chosen and not missing:
        raise CommandError(
            f"no account left to {args.command}: the Organization lists {len(listed)} active "
            "accounts and --accounts / --exclude-accounts leave none of them; check both",
            EXIT_USAGE,
        )
    return chosen, {account.account_id: reason for account, reason in missing}


def account_client(service: Any, account: Account, args: argparse.Namespace, sts: Any) -> Any:
    """A ``service`` client acting as ``--role-name`` in ``account``."""
    credentials = organization.assume_role(sts, account, args.role_name, args.external_id)
    options = {key: value for key, value in connection(args).items() if key != "profile"}
    return aws_client(service, credentials=credentials, **options)


def account_statuses(accounts: list[Account], failures: Mapping[str, str]) -> list[dict[str, str]]:
    """Each account's line in the JSON report: audited, or failed and why."""
    statuses = []
    for account in accounts:
        status = {"AccountId": account.account_id, "Name": account.name}
        if account.account_id in failures:
            status.update(Status="FAILED", Error=failures[account.account_id])
        else:
            status["Status"] = "AUDITED"
        statuses.append(status)
    known = {account.account_id for account in accounts}
    for account_id, reason in failures.items():
        if account_id not in known:
            statuses.append(
                {"AccountId": account_id, "Name": "", "Status": "FAILED", "Error": reason}
            )
    return statuses
