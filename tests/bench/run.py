"""``make bench``: the project's AWS calls and costs, side by side, in one run.

Everything runs against one local paging, counting moto server
(``paging_server``); every client is a separate process so its peak RSS is its
own (``os.wait4``'s ``ru_maxrss``). Request counts are counted at the server,
by API action: they are the figures that carry over to AWS. Times are local:
client processing plus moto plus loopback HTTP, with no AWS latency or
throttling, so they are labelled as measuring processing only (†).

Measured:

A. For N = 100, 1,000 and 5,000 users (one in four with a directly attached
   policy): ``python -m no_direct_policies audit --format json`` against the
   seed's per-user procedure (``clients per-user``: ``ListUsers`` +
   ``ListAttachedUserPolicies`` per user). Both must name the same
   NON_COMPLIANT users.
B. The rule's periodic sweep of 5,000 users through ``lambda_handler`` and the
   real rdklib client factory (``AssumeRoleMode`` false, ``TESTMODE``), twice:
   the second sweep finds the first one's evaluations in Config, as every
   deployed sweep after the first does. Then a change event the same way: it
   must make no IAM request and exactly one Config request (PutEvaluations).
C. The remediation helper for one user with k = 1, 5, 10, 11, 20 directly
   attached policies, by user ID as Config passes it, in the 5,000-user
   account, Config knowing the users (the bench server answers
   ``ListDiscoveredResources`` from IAM, as a recorder that recorded them); against
   ``remediation_bound``.
D. Consolidation: ``remediate --apply`` of 200 users over 5 distinct policy
   sets: groups created (one per set) and requests against ``consolidation_bound``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .paging_server import PagingServer, client_environment

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
RESULTS_MD = ROOT / "docs" / "benchmarks.md"
RESULTS_JSON = ROOT / "build" / "bench.json"
SIZES = (100, 1000, 5000)
SWEEP_USERS = 5000
POLICY_COUNTS = (1, 5, 10, 11, 20)
POLICIES_PER_GROUP = 10  # IAM's default AttachedPoliciesPerGroupQuota (moto reports it too)
CONSOLIDATION_USERS = 200
CONSOLIDATION_SETS = (("p0",), ("p0", "p1"), ("p1", "p2"), ("p3",), ("p2", "p3", "p4"))
CHANGE_EVENT = "change_user_managed_policies"
CHANGE_REPEAT = 20
READ_PREFIXES = ("Get", "List")


@dataclass
class Run:
    """One measured client process."""

    label: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_kib: int
    requests: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def reads_writes(self) -> tuple[int, int]:
        reads = sum(
            n for key, n in self.requests.items() if key.split(":")[1].startswith(READ_PREFIXES)
        )
        return reads, self.total - reads


def measure(server: PagingServer, label: str, argv: list[str]) -> Run:
    """Run ``argv`` as a child process against the server; time it, its peak RSS, its requests."""
    server.reset_counts()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            [sys.executable, *argv],
            cwd=ROOT,
            env=client_environment(server.endpoint),
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(
            label,
            process.returncode,
            out.read().decode(),
            err.read().decode(),
            seconds,
            usage.ru_maxrss,  # KiB on Linux
        )
    run.requests = server.counts()
    return run


def _expect(condition: bool, message: str, run: Run | None = None) -> None:
    if not condition:
        detail = f"\n{run.stderr[-2000:]}" if run is not None else ""
        raise SystemExit(f"bench: {message}{detail}")


def move_bound(k: int, per_group: int = POLICIES_PER_GROUP) -> tuple[int, int]:
    """The fewest requests (reads, writes) the safety guarantees need at write time for one
    user whose k policies move to ``m = ceil(k / per_group)`` groups that already exist.

    The user's state is known from an earlier read (the account's, or the helper's own
    read of the user); what follows is what ``move.plan``'s rules 7 to 9 require, with
    reads that no write separates counted once.

    reads, 3k + 7m + 3: under the lock, ListAttachedUserPolicies, ListGroupsForUser (the
    user's groups count against GroupsPerUserQuota, checked before any change) and GetUser
    (3); right
    before each join, what the group carries (ListAttachedGroupPolicies and
    ListGroupPolicies, 2 per group) and, before each join after the first, the user again
    (2); right after each join, the group again (2 per group); between the last join and
    the first removal, the user's direct policies, the lock (GetGroup), the user's
    groups (ListGroupsForUser), what each group carries (ListAttachedGroupPolicies, 1
    per group) and GetUser (4 + m); before each later removal, ListGroupsForUser,
    ListAttachedGroupPolicies and GetUser (3 per removal); the lock's release (GetGroup).
    writes, k + m + 2: the lock's CreateGroup and DeleteGroup, one AddUserToGroup per
    group, one DetachUserPolicy per policy.
    """
    m = math.ceil(k / per_group)
    return 3 * k + 7 * m + 3, k + m + 2


def remediation_bound(k: int, per_group: int = POLICIES_PER_GROUP) -> tuple[int, int]:
    """The fewest requests (reads, writes) for the helper to move one user's k policies,
    by user ID, to groups it creates.

    ``move_bound`` plus: resolving the ID (Config's ListDiscoveredResources, 1); planning
    (ListAttachedUserPolicies, ListGroupsForUser, GetAccountSummary, and one GetGroup
    per group to know it does not exist yet: 3 + m); creating the groups (CreateGroup per
    group, and per policy a GetGroup, no member yet, and an AttachGroupPolicy: m + k
    writes, k reads), after the user's lock is taken.
    """
    m = math.ceil(k / per_group)
    reads, writes = move_bound(k, per_group)
    return reads + 4 + m + k, writes + m + k


def consolidation_bound(users: int, sets: tuple[tuple[str, ...], ...]) -> tuple[int, int]:
    """The fewest requests (reads, writes) to move ``users``, spread evenly over ``sets``,
    to one group per set, with every write-time check of ``move_bound``.

    The account is read once (GetAccountAuthorizationDetails with the User and Group
    filters, 1,000 entries a page; GetAccountSummary: 2 reads here); each set's group is
    created once (CreateGroup; per policy a GetGroup, no member yet, and an
    AttachGroupPolicy); each user then costs ``move_bound`` for its set's size.
    """
    per_set = users // len(sets)
    reads = math.ceil(users / 1000) + 1 + sum(len(policies) for policies in sets)
    writes = sum(1 + len(policies) for policies in sets)
    for policies in sets:
        user_reads, user_writes = move_bound(len(policies))
        reads += per_set * user_reads
        writes += per_set * user_writes
    return reads, writes


def _seed_account(server: PagingServer, users: int) -> None:
    server.reset()
    server.seed(
        {
            "policies": ["audit-reader", "audit-writer"],
            "users": [
                {
                    "name": f"user-{n:05d}",
                    "id": f"AIDA{n:017d}",
                    "policies": (["audit-reader", "audit-writer"][: 1 + n % 8 // 4])
                    if n % 4 == 0
                    else [],
                }
                for n in range(users)
            ],
        }
    )


def _by_action(run: Run) -> str:
    return ", ".join(
        f"{key.split(':', 1)[1]} {count}" for key, count in sorted(run.requests.items())
    )


def _mib(run: Run) -> str:
    return f"{run.peak_rss_kib / 1024:.0f} MiB"


def audit_versus_per_user(server: PagingServer, rows: list[list[str]], data: dict) -> None:
    for users in SIZES:
        _seed_account(server, users)
        audit = measure(
            server,
            "audit",
            [
                "-m",
                "no_direct_policies",
                "audit",
                "--format",
                "json",
                "--endpoint-url",
                server.endpoint,
            ],
        )
        _expect(audit.returncode == 1, f"audit of {users} users exited {audit.returncode}", audit)
        listing = measure(server, "per-user", ["-m", "tests.bench.clients", "per-user"])
        _expect(listing.returncode == 0, "the per-user listing failed", listing)
        flagged = {
            row["UserName"]
            for row in json.loads(audit.stdout)["Users"]
            if row["ComplianceType"] == "NON_COMPLIANT"
        }
        same = flagged == set(json.loads(listing.stdout))
        _expect(same, f"audit and per-user listing disagree on {users} users")
        ratio = listing.seconds / audit.seconds
        for run in (audit, listing):
            rows.append(
                [
                    "A. audit (project)" if run is audit else "A. per-user listing (seed)",
                    f"N = {users:,}",
                    _by_action(run),
                    str(run.total),
                    "",
                    f"{run.seconds:.2f} s",
                    _mib(run),
                    (
                        f"{len(flagged)} NON_COMPLIANT"
                        if run is audit
                        else f"same verdicts; {ratio:.1f}x audit's wall time, "
                        f"{listing.total / audit.total:.0f}x its requests"
                    ),
                ]
            )
        data[f"audit_{users}"] = _record(audit)
        data[f"per_user_{users}"] = _record(listing)


def rule_runs(server: PagingServer, rows: list[list[str]], data: dict) -> None:
    _seed_account(server, SWEEP_USERS)
    scheduled = str(EVENTS / "scheduled.json")
    for label in ("first sweep", "next sweep"):
        run = measure(server, label, ["-m", "tests.bench.clients", "rule", scheduled])
        _expect(run.returncode == 0, f"the rule's {label} failed", run)
        result = json.loads(run.stdout)
        _expect(sum(result["Evaluations"].values()) == SWEEP_USERS, "not every user evaluated")
        note = (
            "no earlier evaluations in Config"
            if label == "first sweep"
            else f"every user evaluated before; "
            f"{result['SecondsPerInvocation']:.2f} s† in the handler"
        )
        rows.append(
            [
                f"B. rule, {label}",
                f"N = {SWEEP_USERS:,}",
                _by_action(run),
                str(run.total),
                "",
                f"{run.seconds:.2f} s",
                _mib(run),
                note,
            ]
        )
        data[f"rule_{label.replace(' ', '_')}"] = _record(run)
    change = measure(
        server,
        "change event",
        [
            "-m",
            "tests.bench.clients",
            "rule",
            str(EVENTS / f"{CHANGE_EVENT}.json"),
            "--repeat",
            str(CHANGE_REPEAT),
        ],
    )
    _expect(change.returncode == 0, "the change event failed", change)
    iam = sum(n for key, n in change.requests.items() if key.startswith("iam:"))
    config = sum(n for key, n in change.requests.items() if key.startswith("config:"))
    _expect(iam == 0, f"a change event made {iam} IAM requests", change)
    _expect(
        change.requests == Counter({"config:PutEvaluations": CHANGE_REPEAT}),
        f"{CHANGE_REPEAT} change events made {dict(change.requests)}",
        change,
    )
    per_event = json.loads(change.stdout)["SecondsPerInvocation"]
    rows.append(
        [
            "B. rule, change event",
            f"{CHANGE_REPEAT} events",
            _by_action(change),
            f"{config / CHANGE_REPEAT:g} per event",
            "1 Config, 0 IAM",
            f"{per_event * 1000:.1f} ms† each",
            _mib(change),
            f"IAM {iam}, Config {config / CHANGE_REPEAT:g} per event (AssumeRoleMode false)",
        ]
    )
    data["rule_change_event"] = _record(change)


def remediation_per_user(server: PagingServer, rows: list[list[str]], data: dict) -> None:
    # The account is the one the sweep used (5,000 users); these users come after them.
    for k in POLICY_COUNTS:
        policies = [f"k{k}-policy-{n:02d}" for n in range(k)]
        user_id = f"AIDA{900000 + k:017d}"
        server.seed(
            {
                "policies": policies,
                "users": [{"name": f"moves-{k}", "id": user_id, "policies": policies}],
            }
        )
        payload = json.dumps({"IAMResourceId": user_id})
        run = measure(server, f"k={k}", ["-m", "tests.bench.clients", "helper", payload])
        _expect(run.returncode == 0, f"the remediation of {k} policies failed", run)
        result = json.loads(run.stdout)
        _expect(result["Status"] == "MOVED", f"k={k}: {result['Status']}", run)
        groups = len(result["Groups"])
        reads, writes = run.reads_writes()
        bound_reads, bound_writes = remediation_bound(k)
        rows.append(
            [
                "C. remediation of one user (helper, by ID)",
                f"k = {k}",
                _by_action(run),
                f"{run.total} ({reads} r + {writes} w)",
                f"{bound_reads + bound_writes} ({bound_reads} r + {bound_writes} w)",
                f"{run.seconds:.2f} s",
                _mib(run),
                f"{groups} group(s) created; {run.total / (bound_reads + bound_writes):.2f}x bound",
            ]
        )
        data[f"remediation_k{k}"] = {**_record(run), "groups": groups}


def consolidation(server: PagingServer, rows: list[list[str]], data: dict) -> None:
    server.reset()
    per_set = CONSOLIDATION_USERS // len(CONSOLIDATION_SETS)
    server.seed(
        {
            "policies": sorted({name for names in CONSOLIDATION_SETS for name in names}),
            "users": [
                {
                    "name": f"team-{index}-{n:03d}",
                    "id": f"AIDA{index:08d}{n:09d}",
                    "policies": names,
                }
                for index, names in enumerate(CONSOLIDATION_SETS)
                for n in range(per_set)
            ],
        }
    )
    argv = ["-m", "no_direct_policies", "remediate", "--apply", "--format", "json"]
    run = measure(server, "consolidation", argv)
    _expect(run.returncode == 0, f"remediate --apply exited {run.returncode}", run)
    results = json.loads(run.stdout)["Results"]
    moved = sum(result["Status"] == "MOVED" for result in results)
    groups = {group for result in results for group in result["Groups"]}
    created = run.requests["iam:CreateGroup"]
    reads, writes = run.reads_writes()
    ideal_reads, ideal_writes = consolidation_bound(CONSOLIDATION_USERS, CONSOLIDATION_SETS)
    ideal = ideal_reads + ideal_writes
    rows.append(
        [
            "D. consolidation (remediate --apply)",
            f"{CONSOLIDATION_USERS} users, {len(CONSOLIDATION_SETS)} sets",
            _by_action(run),
            f"{run.total} ({reads} r + {writes} w)",
            f"{ideal} ({ideal_reads} r + {ideal_writes} w)",
            f"{run.seconds:.2f} s",
            _mib(run),
            f"{moved} moved; {created} groups created, {len(groups)} used "
            f"(one per set: {len(CONSOLIDATION_SETS)}); {run.total / ideal:.3f}x bound",
        ]
    )
    data["consolidation"] = {**_record(run), "groups_created": created, "groups_used": len(groups)}


def _record(run: Run) -> dict[str, Any]:
    return {
        "requests": dict(sorted(run.requests.items())),
        "total": run.total,
        "seconds": round(run.seconds, 3),
        "peak_rss_kib": run.peak_rss_kib,
    }


HEADERS = [
    "Measurement",
    "Size",
    "Requests by action (server-counted)",
    "Total",
    "Lower bound",
    "Wall time†",
    "Peak RSS",
    "Notes",
]
FOOTNOTE = (
    "† Processing only: measured on a local moto server (client work, moto and loopback "
    "HTTP; no AWS latency, no throttling). Process wall times include the interpreter's start. "
    "Request counts are counted at the server and carry over to AWS. Peak RSS is the client "
    "process's (ru_maxrss). Config's GetComplianceDetailsByConfigRule is served by the bench "
    "server (moto lacks it) from the PutEvaluations it received."
)


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    import boto3
    import moto

    return (
        f"{os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, boto3 {boto3.__version__}, moto {moto.__version__}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=RESULTS_MD,
        help=f"where to write the figures (default: {RESULTS_MD.relative_to(ROOT)})",
    )
    markdown_path = parser.parse_args(argv).markdown
    started = time.perf_counter()
    rows: list[list[str]] = []
    data: dict[str, Any] = {}
    with PagingServer() as server:
        audit_versus_per_user(server, rows, data)
        rule_runs(server, rows, data)
        remediation_per_user(server, rows, data)
        consolidation(server, rows, data)
    elapsed = time.perf_counter() - started
    table = markdown(rows)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(table)
    print()
    print(FOOTNOTE)
    print(f"\nbench: {elapsed:.0f} s in all on {machine()}")
    RESULTS_JSON.parent.mkdir(exist_ok=True)
    RESULTS_JSON.write_text(
        json.dumps({"date": when, "machine": machine(), "results": data}, indent=2) + "\n"
    )
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(
        "# Benchmark figures\n\n"
        "Generated by `make bench` (tests/bench/run.py); do not edit by hand, run it again.\n\n"
        f"Run on {when}, {machine()}; the whole run took {elapsed:.0f} s.\n\n"
        f"{table}\n\n{FOOTNOTE}\n"
    )
