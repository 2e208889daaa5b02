"""Read what the remediation planner needs from IAM: the user, its groups, candidate groups, quotas.

Only read calls live here; every list is read through its paginator, so
users with many policies or groups are read completely. The one read that is
not IAM's is Config's ``ListDiscoveredResources``, which finds a user's name
from its ID in one call (no IAM API looks users up by ID).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from no_direct_policies.move.plan import (
    GroupState,
    InlinePolicy,
    Quotas,
    RemediationRefused,
    UserState,
)

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_iam import IAMClient

LOGGER = logging.getLogger(__name__)
# The same retries as the helper's IAM client (request.RETRY_CONFIG): throttling is
# retried with backoff here, never taken as "Config cannot answer".
CONFIG_RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 10})
CONFIG_USER_TYPE: Final = "AWS::IAM::User"
# Config cannot be asked here: the role (or an SCP) denies it, or no recorder runs in
# this region. The helper then finds the user with ListUsers; any other error surfaces.
CONFIG_UNAVAILABLE_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "NoAvailableConfigurationRecorderException",
        "NoSuchConfigurationRecorderException",
    }
)


def error_code(error: ClientError) -> str:
    """The IAM error code of a failed call, e.g. ``NoSuchEntity``."""
    return error.response.get("Error", {}).get("Code", "")


def _items(iam_client: IAMClient, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under ``key`` across all pages of a list operation."""
    paginator: Any = iam_client.get_paginator(operation)  # type: ignore[call-overload]
    for page in paginator.paginate(**kwargs):
        yield from page[key]


def new_config_client() -> ConfigServiceClient:
    """A Config client in the Lambda's region that retries throttling with backoff."""
    return boto3.client("config", config=CONFIG_RETRY_CONFIG)


def config_user_name(config_client: ConfigServiceClient, user_id: str) -> str | None:
    """The name Config recorded for the user with this ID; None if Config cannot say.

    One call. None when Config has not recorded the user (global resources are
    recorded in one region only, or the user is newer than the last recording)
    or when Config cannot be asked here (``CONFIG_UNAVAILABLE_CODES``).
    """
    try:
        response = config_client.list_discovered_resources(
            resourceType=CONFIG_USER_TYPE, resourceIds=[user_id]
        )
    except ClientError as error:
        if error_code(error) not in CONFIG_UNAVAILABLE_CODES:
            raise
        LOGGER.warning(
            "Config cannot find user %s (%s); finding it with ListUsers", user_id, error_code(error)
        )
        return None
    except BotoCoreError as error:  # no credentials or no endpoint for Config here
        LOGGER.warning("Config cannot be asked (%s); finding %s with ListUsers", error, user_id)
        return None
    for resource in response.get("resourceIdentifiers", []):
        if resource.get("resourceId") == user_id and resource.get("resourceName"):
            return resource["resourceName"]
    return None


def user_name_of_id(
    iam_client: IAMClient, user_id: str, config_client: ConfigServiceClient | None = None
) -> str | None:
    """The name of the user with this unique ID now; None if no user has it.

    Config's record gives the name in one call and ``GetUser`` confirms that the
    name still has this ID (the user may have been renamed, or deleted and its
    name given to a new user, since Config recorded it). Only when Config does
    not know the user, or its name is stale, are the users listed (``ListUsers``).
    """
    name = config_user_name(config_client or new_config_client(), user_id)
    if name is not None:
        if user_id_of(iam_client, name) == user_id:
            return name
        LOGGER.info(
            "Config's name %s is no longer user %s's; finding it with ListUsers", name, user_id
        )
    return scan_user_name(iam_client, user_id)


def scan_user_name(iam_client: IAMClient, user_id: str) -> str | None:
    """The name of the user with this unique ID, from every page of ``ListUsers``."""
    # 1,000 users per page (IAM's maximum): 5,000 users cost 5 calls, not 50.
    pages = {"PaginationConfig": {"PageSize": 1000}}
    for user in _items(iam_client, "list_users", "Users", **pages):
        if user["UserId"] == user_id:
            return str(user["UserName"])
    return None


def find_user_name(
    iam_client: IAMClient, user_id: str, config_client: ConfigServiceClient | None = None
) -> str:
    """The name of the user with this unique ID (no IAM API looks users up by ID)."""
    name = user_name_of_id(iam_client, user_id, config_client)
    if name is not None:
        return name
    raise RemediationRefused(
        f"No IAM user has the ID {user_id}: it was probably deleted after Config evaluated it. "
        "Nothing was changed and nothing is left to remediate."
    )


def user_id_of(iam_client: IAMClient, user_name: str) -> str | None:
    """The unique ID of the user that has this name now; None if no user has it."""
    try:
        return iam_client.get_user(UserName=user_name)["User"]["UserId"]
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return None
        raise


def find_user_id(iam_client: IAMClient, user_name: str) -> str:
    """The unique ID of the named user."""
    user_id = user_id_of(iam_client, user_name)
    if user_id is None:
        raise RemediationRefused(
            f"No IAM user is named {user_name}. Nothing was changed; check the UserName."
        )
    return user_id


def _inline_policies(iam_client: IAMClient, kind: str, name: str) -> frozenset[InlinePolicy]:
    """The inline policies of a user or group (``kind`` is "user" or "group").

    A policy deleted between the list and its read is not there: it is left out.
    """
    name_key = "UserName" if kind == "user" else "GroupName"
    names = list(_items(iam_client, f"list_{kind}_policies", "PolicyNames", **{name_key: name}))
    get = getattr(iam_client, f"get_{kind}_policy")
    policies = set()
    for policy_name in names:
        try:
            document = get(**{name_key: name, "PolicyName": policy_name})["PolicyDocument"]
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            continue
        policies.add(InlinePolicy.from_document(policy_name, document))
    return frozenset(policies)


def group_inline_policies(iam_client: IAMClient, group_name: str) -> frozenset[InlinePolicy]:
    """A group's inline policies, with their documents."""
    return _inline_policies(iam_client, "group", group_name)


def attached_group_policy_arns(iam_client: IAMClient, group_name: str) -> frozenset[str]:
    """The ARNs of the managed policies attached to a group."""
    return _attached_group_policies(iam_client, group_name)


def _attached_group_policies(iam_client: IAMClient, group_name: str) -> frozenset[str]:
    return frozenset(
        policy["PolicyArn"]
        for policy in _items(
            iam_client, "list_attached_group_policies", "AttachedPolicies", GroupName=group_name
        )
    )


def group_policies(
    iam_client: IAMClient, group_name: str
) -> tuple[frozenset[str], frozenset[InlinePolicy]] | None:
    """What a group carries: its managed policy ARNs and inline policies; None if no such group."""
    try:
        return (
            _attached_group_policies(iam_client, group_name),
            _inline_policies(iam_client, "group", group_name),
        )
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return None
        raise


def group_pages(iam_client: IAMClient, group_name: str) -> list[Any] | None:
    """Every page of ``GetGroup`` (the group, then its members); None if no such group."""
    try:
        return list(iam_client.get_paginator("get_group").paginate(GroupName=group_name))
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return None
        raise


def member_names(pages: list[Any]) -> frozenset[str]:
    """The members' names across ``GetGroup``'s pages."""
    return frozenset(user["UserName"] for page in pages for user in page["Users"])


def read_group(iam_client: IAMClient, group_name: str) -> GroupState | None:
    """A group's path, members, attached and inline policies; None if it does not exist."""
    pages = group_pages(iam_client, group_name)
    if pages is None:
        return None
    return GroupState(
        # IAM finds a group whatever the case of the name asked for; keep the group's own name.
        name=pages[0]["Group"]["GroupName"],
        path=pages[0]["Group"]["Path"],
        policy_arns=_attached_group_policies(iam_client, group_name),
        inline_policies=_inline_policies(iam_client, "group", group_name),
        member_names=member_names(pages),
    )


def user_group_names(iam_client: IAMClient, user_name: str) -> tuple[str, ...]:
    """The names of the groups the user is in."""
    return tuple(
        group["GroupName"]
        for group in _items(iam_client, "list_groups_for_user", "Groups", UserName=user_name)
    )


def user_group_paths(iam_client: IAMClient, user_name: str) -> dict[str, str]:
    """The groups the user is in: each group's name and its path."""
    return {
        group["GroupName"]: group["Path"]
        for group in _items(iam_client, "list_groups_for_user", "Groups", UserName=user_name)
    }


def read_user_groups(
    iam_client: IAMClient, user_name: str, *, with_inline: bool, remediation_path: str = ""
) -> tuple[GroupState, ...]:
    """The groups the user is in, with what each carries (members are not read).

    Inline policies are read when asked for, and always for groups under
    ``remediation_path``: the planner compares those with the set their name encodes.
    """
    return tuple(
        GroupState(
            name=group["GroupName"],
            path=group["Path"],
            policy_arns=_attached_group_policies(iam_client, group["GroupName"]),
            inline_policies=(
                _inline_policies(iam_client, "group", group["GroupName"])
                if with_inline or group["Path"] == remediation_path
                else frozenset()
            ),
        )
        for group in _items(iam_client, "list_groups_for_user", "Groups", UserName=user_name)
    )


def attached_user_policy_arns(iam_client: IAMClient, user_name: str) -> tuple[str, ...]:
    """The ARNs of the managed policies attached directly to the user."""
    return tuple(
        policy["PolicyArn"]
        for policy in _items(
            iam_client, "list_attached_user_policies", "AttachedPolicies", UserName=user_name
        )
    )


def user_policy_names(iam_client: IAMClient, user_name: str) -> tuple[str, ...]:
    """The names of the user's inline policies."""
    return tuple(_items(iam_client, "list_user_policies", "PolicyNames", UserName=user_name))


def user_inline_policies(iam_client: IAMClient, user_name: str) -> frozenset[InlinePolicy]:
    """The user's inline policies, with their documents."""
    return _inline_policies(iam_client, "user", user_name)


def read_user(
    iam_client: IAMClient,
    user_name: str,
    user_id: str,
    *,
    with_inline: bool,
    remediation_path: str = "",
) -> UserState:
    """The user's attached policies, inline policies (if asked for) and groups."""
    attached = attached_user_policy_arns(iam_client, user_name)
    inline = tuple(sorted(user_inline_policies(iam_client, user_name))) if with_inline else ()
    return UserState(
        user_name=user_name,
        user_id=user_id,
        attached_policy_arns=attached,
        inline_policies=inline,
        groups=read_user_groups(
            iam_client, user_name, with_inline=with_inline, remediation_path=remediation_path
        ),
    )


def read_quotas(iam_client: IAMClient) -> Quotas:
    """The live quotas and group count of the account."""
    summary = {
        str(key): count for key, count in iam_client.get_account_summary()["SummaryMap"].items()
    }
    return Quotas.from_summary_map(summary)
