"""The verify steps of both documents, one script that each embeds byte for byte.

Step VerifyNoDirectPolicies (the move, handler verify_no_direct_policies): no
managed policy but the exempt ones is left on the user, and with
MoveInlinePolicies true no inline policy either. Step VerifyPoliciesRestored
(the undo, handler verify_policies_restored): the user holds its policies
directly, out of the remediation groups.

This file is each step's inline Script, byte for byte (tests compare them), and
runs as is in aws:executeScript (python3.11); the step's Handler picks the check.
It reads IAM with the automation role, as AWS's AWSConfigRemediation-* runbooks
verify: paginators, so every page is checked, and botocore's standard retries,
since aws:executeScript does not retry throttling by itself.
"""

from typing import Any

import boto3
from botocore.config import Config

# The automation role's grant for these steps; the build reads it from the documents.
REQUIRED_PERMISSIONS = [
    "iam:GetUser",
    "iam:ListAttachedUserPolicies",
    "iam:ListGroupsForUser",
    "iam:ListUserPolicies",
]


def _same_user(events: dict[str, Any], change: str, state: str) -> tuple[Any, set[str]]:
    """An IAM client and the user's attached policy ARNs, once the user still has its ID.

    ``change`` names what was done to the user, ``state`` the user it left, for the
    message when the name now belongs to another user.
    """
    name, user_id = events["UserName"], events["UserId"]
    iam = boto3.client("iam", config=Config(retries={"mode": "standard", "total_max_attempts": 10}))
    try:
        found_id = iam.get_user(UserName=name)["User"]["UserId"]
    except iam.exceptions.NoSuchEntityException:
        raise RuntimeError(f"User {name} ({user_id}) no longer exists; nothing to verify") from None
    if found_id != user_id:
        raise RuntimeError(
            f"User {name} now has ID {found_id}, not {user_id}: it was deleted and created "
            f"again after the {change}, so the {state} user cannot be verified"
        )
    pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
    return iam, {policy["PolicyArn"] for page in pages for policy in page["AttachedPolicies"]}


def verify_no_direct_policies(events: dict[str, Any], context: object) -> dict[str, Any]:
    """Raise unless the user (same name and ID) keeps only exempt managed policies.

    With MoveInlinePolicies true, also raise if an inline policy is left on the user.
    """
    if events["DryRun"]:
        return {"Verification": "SKIPPED_DRY_RUN"}
    name = events["UserName"]
    iam, attached = _same_user(events, "move", "remediated")
    exempt = {arn.strip() for arn in events["ExemptPolicyArns"].split(",") if arn.strip()}
    remaining = sorted(attached - exempt)
    if remaining:
        raise RuntimeError(
            f"Managed policies are still attached directly to user {name}: " + ", ".join(remaining)
        )
    if str(events.get("MoveInlinePolicies", False)).lower() == "true":
        inline_pages = iam.get_paginator("list_user_policies").paginate(UserName=name)
        inline = sorted(policy for page in inline_pages for policy in page["PolicyNames"])
        if inline:
            raise RuntimeError(f"Inline policies are still on user {name}: " + ", ".join(inline))
    return {"Verification": "NO_DIRECT_POLICIES"}


def verify_policies_restored(events: dict[str, Any], context: object) -> dict[str, Any]:
    """Raise unless the user (same name and ID) holds the restored policies directly, in no group
    under the remediation's path."""
    if events["DryRun"]:
        return {"Verification": "SKIPPED_DRY_RUN"}
    name = events["UserName"]
    iam, attached = _same_user(events, "undo", "restored")
    missing = sorted(set(events["RestoredPolicyArns"]) - attached)
    if missing:
        raise RuntimeError(f"Not attached directly to user {name}: " + ", ".join(missing))
    listed = iam.get_paginator("list_groups_for_user").paginate(UserName=name)
    path = events["GroupPath"]
    groups = [g["GroupName"] for page in listed for g in page["Groups"] if g["Path"] == path]
    if groups:
        raise RuntimeError(f"User {name} is still in remediation groups: " + ", ".join(groups))
    return {"Verification": "POLICIES_RESTORED"}
