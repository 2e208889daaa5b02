"""Measure the command-line audit and the demo (``make benchmark``; not a pytest module).

The audit runs through ``cli.main`` against a counting stand-in for IAM that
pages GetAccountAuthorizationDetails as IAM does (at most MaxItems users and a
Marker), on 5,000 users (IAM's default per-account quota). The demo is timed
in this process, as ``make demo`` runs it.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from typing import Any

from no_direct_policies.cli import main as cli
from no_direct_policies.simulation import demo

USERS = 5000
S3_FULL = {
    "PolicyName": "AmazonS3FullAccess",
    "PolicyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess",
}


class CountingIam:
    """GetAccountAuthorizationDetails over ``count`` users, one in four noncompliant."""

    def __init__(self, count: int) -> None:
        self.calls: Counter[str] = Counter()
        self.users = [
            {
                "UserName": f"user-{n}",
                "UserId": f"AIDA{n:017d}",
                "Path": "/",
                "Arn": f"arn:aws:iam::123456789012:user/user-{n}",
                "AttachedManagedPolicies": [S3_FULL] if n % 4 == 0 else [],
                "UserPolicyList": [],
                "GroupList": [],
            }
            for n in range(count)
        ]

    def get_account_authorization_details(self, **request: Any) -> dict[str, Any]:
        self.calls["GetAccountAuthorizationDetails"] += 1
        start = int(request.get("Marker", 0))
        end = start + request["MaxItems"]
        page: dict[str, Any] = {"UserDetailList": self.users[start:end], "IsTruncated": False}
        if end < len(self.users):
            page.update(IsTruncated=True, Marker=str(end))
        return page


def measure_audit(fmt: str) -> None:
    iam = CountingIam(USERS)
    cli.iam_client = lambda **_: iam  # the stand-in replaces the AWS client
    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = cli.main(["audit", "--format", fmt], stdout=stdout, stderr=stderr)
    seconds = time.perf_counter() - started
    print(
        f"audit --format {fmt}: {USERS} users, exit {code}, {dict(iam.calls)} API calls, "
        f"{len(stderr.getvalue().splitlines())} progress lines, {seconds * 1000:.0f} ms"
    )


def measure_demo() -> None:
    output = io.StringIO()
    started = time.perf_counter()
    code = demo.main(output)
    seconds = time.perf_counter() - started
    print(
        f"demo: exit {code}, {seconds:.1f} s, {len(output.getvalue().splitlines())} lines of output"
    )


if __name__ == "__main__":
    for fmt in ("table", "json", "csv"):
        measure_audit(fmt)
    measure_demo()
