"""The rule's requests through the real rdklib client factory, counted at the bench server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .paging_server import ROOT, PagingServer, client_environment
from .run import EVENTS, consolidation_ideal, remediation_bound


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


def _rule(server: PagingServer, event: str) -> dict:
    server.reset_counts()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.bench.clients", "rule", str(EVENTS / f"{event}.json")],
        cwd=ROOT,
        env=client_environment(server.endpoint),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
    assert remediation_bound(1, 1) == (7, 4)
    assert remediation_bound(11, 2) == (9, 26)
    assert consolidation_ideal(200, (("a",), ("a", "b"))) == (1 + 1 + 2 + 200, 5 + 100 * 5)
