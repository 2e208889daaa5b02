"""Fixtures for the rule's tests: the AWS clients rdklib builds, replaced by a stubbed
Config client and a recording IAM client.

moto implements neither Config's compliance APIs (GetComplianceDetailsByConfigRule,
GetResourceConfigHistory for IAM users) nor PutEvaluations outside TestMode, so the
Config client is a botocore Stubber that checks every call's exact parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rdklib import ClientFactory

from no_direct_policies.simulation.account import REGION


@dataclass
class RuleClients:
    """The clients rdklib gets from its ClientFactory, and a record of what it asked for."""

    config_stubber: Stubber
    iam: Any
    built: list[str] = field(default_factory=list)
    iam_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def use_iam(self, client: Any) -> None:
        """Hand rdklib ``client`` for IAM, recording its calls."""
        client.meta.events.register("provide-client-params.iam.*", self.record_iam_call)
        self.iam = client

    def build_client(self, service: str, region: str | None = None, assume_role_mode: bool = True):
        """Stands in for rdklib's ClientFactory.build_client."""
        self.built.append(service)
        return {"config": self.config_stubber.client, "iam": self.iam}[service]

    def record_iam_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """botocore hook: remember each IAM operation and its parameters."""
        self.iam_calls.append((model.name, copy.deepcopy(params)))


def _strict_client(service: str) -> Iterator[Stubber]:
    """A client whose every call must be expected; unused expectations fail the test."""
    with Stubber(boto3.client(service, region_name=REGION)) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def config_stub(aws_account) -> Iterator[Stubber]:
    """A Config client that accepts only the calls a test expects, with exact parameters."""
    yield from _strict_client("config")


@pytest.fixture
def iam_stub(aws_account) -> Iterator[Stubber]:
    """An IAM client that accepts only expected calls (for sweeps moto cannot page)."""
    yield from _strict_client("iam")


@pytest.fixture
def rule_clients(monkeypatch, config_stub, iam) -> RuleClients:
    """Route rdklib's clients: Config to ``config_stub``, IAM to the moto account
    (tests may swap in ``iam_stub.client``); every IAM call is recorded."""
    clients = RuleClients(config_stubber=config_stub, iam=None)
    clients.use_iam(iam)
    monkeypatch.setattr(ClientFactory, "build_client", clients.build_client)
    return clients
