"""Step VerifyPoliciesRestored: the user holds its policies directly, out of the remediation groups.

This file is the step's inline Script, byte for byte (a test compares them), and
runs as is in aws:executeScript (python3.11, handler verify_policies_restored).
It reads IAM with the automation role: paginators, so every page is checked,
and botocore's standard retries, since aws:executeScript does not retry throttling.
"""

from typing import Any

import boto3
from botocore.config import Config

# The automation role's grant for this step; the build reads it from the document.
REQUIRED_PERMISSIONS = ["iam:GetUser", "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser"]


def verify_policies_restored(events: dict[str, Any], context: object) -> dict[str, Any]:
    """Raise unless the user (same name and ID) holds the restored policies directly, in no group
    under the remediation's path."""
    if events["DryRun"]:
        return {"Verification": "SKIPPED_DRY_RUN"}
    name, user_id = events["UserName"], events["UserId"]
    iam = boto3.client("iam", config=Config(retries={"mode": "standard", "total_max_attempts": 10}))
    try:
        found_id = iam.get_user(UserName=name)["User"]["UserId"]
    except iam.exceptions.NoSuchEntityException:
        raise RuntimeError(f"User {name} ({user_id}) no longer exists; nothing to verify") from None
    if found_id != user_id:
        raise RuntimeError(
            f"User {name} now has ID {found_id}, not {user_id}: it was deleted and created "
            "again after the undo, so the restored user cannot be verified"
        )
    pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
    attached = {policy["PolicyArn"] for page in pages for policy in page["AttachedPolicies"]}
    missing = sorted(set(events["RestoredPolicyArns"]) - attached)
    if missing:
        raise RuntimeError(f"Not attached directly to user {name}: " + ", ".join(missing))
    listed = iam.get_paginator("list_groups_for_user").paginate(UserName=name)
    path = events["GroupPath"]
    groups = [g["GroupName"] for page in listed for g in page["Groups"] if g["Path"] == path]
    if groups:
        raise RuntimeError(f"User {name} is still in remediation groups: " + ", ".join(groups))
    return {"Verification": "POLICIES_RESTORED"}
