"""Measure the remediation helper (``make benchmark``; not a pytest module).

Against the in-process simulated account (moto), prints for users with 1, 10,
11 and 25 attached policies the IAM API calls one remediation makes (reads and
writes) and its wall time; then the same for N users sharing one policy set,
where the first creates the group and the others reuse it; then a dry run.
moto answers in microseconds-to-milliseconds, so the times measure the
helper's own work plus moto, not IAM's latency: the call counts are the
figures that carry over to AWS.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import boto3

from no_direct_policies.move.request import move_user_policies, parse_payload
from no_direct_policies.simulation import account

READS = ("Get", "List")


def _counted_client() -> tuple[Any, Counter[str]]:
    client = boto3.client("iam", region_name=account.REGION)
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call.iam.*", lambda model, **_: calls.update([model.name]))
    return client, calls


def _remediate(client: Any, calls: Counter[str], **payload: Any) -> tuple[dict, dict, float]:
    calls.clear()
    started = time.perf_counter()
    result = move_user_policies(client, parse_payload(payload), sleep=lambda _s: None)
    elapsed = time.perf_counter() - started
    reads = sum(n for name, n in calls.items() if name.startswith(READS))
    return result, {"reads": reads, "writes": sum(calls.values()) - reads}, elapsed


def _row(label: str, result: dict, counts: dict, elapsed: float) -> None:
    total = counts["reads"] + counts["writes"]
    print(
        f"  {label:<34} {result['Status']:<15} groups {len(result['Groups']):>2}  "
        f"calls {total:>3} (reads {counts['reads']:>2}, writes {counts['writes']:>2})  "
        f"{elapsed * 1000:7.1f} ms"
    )


def main() -> None:
    users = 50
    with account.simulated_account():
        client, calls = _counted_client()
        arns = sorted(
            p["Arn"] for p in client.list_policies(Scope="AWS", MaxItems=200)["Policies"]
        )[:50]
        print("Remediation helper: IAM calls and time per user (moto, in-process)")
        start = 0
        for count in (1, 10, 11, 25):  # disjoint policy sets, so every size creates its groups
            name = f"user-{count}-policies"
            user_id = client.create_user(UserName=name)["User"]["UserId"]
            policies, start = arns[start : start + count], start + count
            for arn in policies:
                client.attach_user_policy(UserName=name, PolicyArn=arn)
            # By user ID, as Config passes it (the helper scans ListUsers for the name).
            _row(
                f"{count} policies, new group(s)", *_remediate(client, calls, IAMResourceId=user_id)
            )
            _row(f"{count} policies, re-run", *_remediate(client, calls, IAMResourceId=user_id))

        shared = arns[47:50]
        for n in range(users):
            client.create_user(UserName=f"team-{n}")
            for arn in shared:
                client.attach_user_policy(UserName=f"team-{n}", PolicyArn=arn)
        _row("dry run (3 policies)", *_remediate(client, calls, UserName="team-0", DryRun=True))
        started = time.perf_counter()
        first = _remediate(client, calls, UserName="team-0")
        _row("first of N users (creates group)", *first)
        totals: Counter[str] = Counter()
        for n in range(1, users):
            _, counts, _ = _remediate(client, calls, UserName=f"team-{n}")
            totals.update(counts)
        elapsed = time.perf_counter() - started
        per_user = {key: value / (users - 1) for key, value in totals.items()}
        print(
            f"  {'each further user (reuses group)':<34} {'MOVED':<15} groups  1  "
            f"calls {per_user['reads'] + per_user['writes']:>5.1f} "
            f"(reads {per_user['reads']:.1f}, writes {per_user['writes']:.1f})"
        )
        print(f"  N = {users} users sharing one set: {elapsed:.2f} s in all")


if __name__ == "__main__":
    main()
