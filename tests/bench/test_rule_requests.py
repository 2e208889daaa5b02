"""The rule's requests through the real rdklib client factory, counted at the bench server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .paging_server import ROOT, PagingServer, client_environment
from .run import EVENTS, consolidation_bound, move_bound, remediation_bound


@pytest.fixture(scope="module")
def running_server() -> Iterator[PagingServer]:
    with PagingServer() as running:
        yield running


@pytest.fixture
def server(running_server: PagingServer) -> PagingServer:
    """Three users, one with a direct policy; no evaluations stored from another test."""
    running_server.reset()
    running_server.seed(
        {
            "policies": ["reader"],
            "users": [
                {"name": f"user-{n}", "id": f"AIDA{n:017d}", "policies": ["reader"] * (n % 2)}
                for n in range(3)
            ],
        }
    )
    return running_server


def _client(server: PagingServer, *argv: str) -> dict:
    """Run ``python -m ARGV`` against the server, its counts reset first; its JSON answer."""
    server.reset_counts()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env=client_environment(server.endpoint),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _rule(server: PagingServer, event: str) -> dict:
    return _client(server, "tests.bench.clients", "rule", str(EVENTS / f"{event}.json"))


def test_a_change_event_makes_one_config_request_and_no_iam_request(server):
    result = _rule(server, "change_user_managed_policies")

    assert result["Evaluations"] == {"NON_COMPLIANT": 1}
    assert server.counts() == {"config:PutEvaluations": 1}


def test_a_sweep_reads_iam_once_per_page_and_puts_every_user(server):
    result = _rule(server, "scheduled")

    assert result["Evaluations"] == {"COMPLIANT": 2, "NON_COMPLIANT": 1}
    assert server.counts() == {
        "iam:GetAccountAuthorizationDetails": 1,
        "config:GetComplianceDetailsByConfigRule": 1,
        "config:PutEvaluations": 1,
    }


def test_the_bounds_stated_in_the_table():
    assert move_bound(1) == (3 + 7 + 3, 1 + 1 + 2)  # 4k + 13 in all for one group
    assert move_bound(11) == (33 + 14 + 3, 11 + 2 + 2)
    assert remediation_bound(1) == (13 + 4 + 1 + 1, 4 + 1 + 1)
    assert consolidation_bound(200, (("a",), ("a", "b"))) == (
        1 + 1 + 3 + 100 * 13 + 100 * 16,
        2 + 3 + 100 * 4 + 100 * 5,
    )


def test_bulk_remediation_reads_the_account_once_and_stays_within_the_bound(running_server):
    sets = (("p0",), ("p0", "p1"), ("p1", "p2", "p3"))
    per_set = 8
    running_server.reset()
    running_server.seed(
        {
            "policies": ["p0", "p1", "p2", "p3"],
            "users": [
                {"name": f"team-{index}-{n}", "id": f"AIDA{index:08d}{n:09d}", "policies": names}
                for index, names in enumerate(sets)
                for n in range(per_set)
            ]
            + [
                {"name": f"clean-{n}", "id": f"AIDA{9:08d}{n:09d}", "policies": []}
                for n in range(5)
            ],
        }
    )
    command = ("no_direct_policies", "remediate", "--apply", "--format", "json")
    results = _client(running_server, *command)["Results"]
    assert [result["Status"] for result in results] == ["MOVED"] * 24
    counts = running_server.counts()
    reads = sum(n for key, n in counts.items() if key.split(":")[1].startswith(("Get", "List")))
    writes = sum(counts.values()) - reads
    bound_reads, bound_writes = consolidation_bound(len(sets) * per_set, sets)
    # One read of the account (29 users, 1 page) and one of the quotas, for every user.
    assert counts["iam:GetAccountAuthorizationDetails"] == 1
    assert counts["iam:GetAccountSummary"] == 1
    assert "iam:ListUsers" not in counts
    assert counts["iam:CreateGroup"] == len(sets) + len(sets) * per_set  # groups, run locks
    assert writes == bound_writes
    # Beyond the bound: the user who creates a set's group reads itself again after that.
    assert bound_reads <= reads <= bound_reads + 2 * len(sets)
    assert reads + writes <= 1.1 * (bound_reads + bound_writes)
