"""Step VerifyNoDirectPolicies: no managed policy but the exempt ones is left on the user.

With MoveInlinePolicies true, no inline policy may be left on the user either.

This file is the step's inline Script, byte for byte (a test compares them), and
runs as is in aws:executeScript (python3.11, handler verify_no_direct_policies).
It reads IAM with the automation role, as AWS's AWSConfigRemediation-* runbooks
verify: a paginator, so every page is checked, and botocore's standard retries,
since aws:executeScript does not retry throttling by itself.
"""

from typing import Any

import boto3
from botocore.config import Config

# The automation role's grant for this step; the build reads it from the document.
REQUIRED_PERMISSIONS = ["iam:GetUser", "iam:ListAttachedUserPolicies", "iam:ListUserPolicies"]


def verify_no_direct_policies(events: dict[str, Any], context: object) -> dict[str, Any]:
    """Raise unless the user (same name and ID) keeps only exempt managed policies.

    With MoveInlinePolicies true, also raise if an inline policy is left on the user.
    """
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
            "again after the move, so the remediated user cannot be verified"
        )
    exempt = {arn.strip() for arn in events["ExemptPolicyArns"].split(",") if arn.strip()}
    pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
    attached = {policy["PolicyArn"] for page in pages for policy in page["AttachedPolicies"]}
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
