"""A remediation plan for the report tests, in the shape ``render_html`` takes."""

from __future__ import annotations

from typing import Any

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"


def sample_plan() -> list[dict[str, Any]]:
    return [
        {
            "UserName": "alice",
            "GroupsToJoin": ["moved-ReadOnlyAccess"],
            "GroupPolicies": {"moved-ReadOnlyAccess": [READ_ONLY]},
            "PoliciesToDetach": [READ_ONLY],
        },
        {
            "UserName": "dave",
            "GroupsToJoin": ["moved-ReadOnlyAccess", "moved-AmazonS3FullAccess"],
            "GroupPolicies": {
                "moved-ReadOnlyAccess": [READ_ONLY],
                "moved-AmazonS3FullAccess": [S3_FULL],
            },
            "PoliciesToDetach": [READ_ONLY, S3_FULL],
        },
        {
            "user_name": 'eve<script>alert("x")</script>',
            "groups_to_join": ["<g>&\"'"],
            "group_policies": {"<g>&\"'": ["arn:aws:iam::123456789012:policy/<p>"]},
            "policies_to_detach": ["arn:aws:iam::123456789012:policy/<p>"],
        },
    ]
