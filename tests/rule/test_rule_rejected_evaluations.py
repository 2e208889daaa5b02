"""Scenario 22: evaluations Config does not accept fail the invocation (fault injection).

rdklib drops PutEvaluations' answers. These tests answer with FailedEvaluations, or with
a 200 whose body is not JSON, once through a Stubber and once over HTTP from a local
server, so botocore's real parser reads the answer. In the HTTP tests the rule builds its
own Config client (rdklib's ClientFactory, AssumeRoleMode "false") pointed at the server
through AWS_ENDPOINT_URL_CONFIG_SERVICE; IAM is the moto account.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from IAM_USER_NO_DIRECT_POLICIES import lambda_handler

from no_direct_policies.evaluation_answers import EvaluationsRejected
from tests.rule.rule_fixtures import (
    SCHEDULED_TIME,
    evaluation,
    expect_authorization_pages,
    expect_previous_evaluations,
    load_event,
    user_detail,
)

NO_MANAGED = "No managed policies attached directly."
SWEEP_USERS = 250
REJECTED = 50


def _ids(user_ids: list[str]) -> str:
    return ", ".join(user_ids[:5]) + f" and {len(user_ids) - 5} more"


def test_scenario_22_failed_evaluations_fail_the_invocation_after_every_batch(
    rule_clients, iam_stub
):
    details = [user_detail(n) for n in range(SWEEP_USERS)]
    rule_clients.use_iam(iam_stub.client)
    expect_authorization_pages(iam_stub, details)
    expect_previous_evaluations(rule_clients.config_stubber, [[]])
    expected = [evaluation(d["UserId"], "COMPLIANT", NO_MANAGED, SCHEDULED_TIME) for d in details]
    for start in range(0, SWEEP_USERS, 100):
        batch = expected[start : start + 100]
        # Config hands back half of the second batch.
        failed = batch[:REJECTED] if start == 100 else []
        rule_clients.config_stubber.add_response(
            "put_evaluations",
            {"FailedEvaluations": failed},
            {"Evaluations": batch, "ResultToken": "TESTMODE", "TestMode": True},
        )

    with pytest.raises(EvaluationsRejected) as raised:
        lambda_handler(load_event("scheduled"), None)

    rejected = [item["ComplianceResourceId"] for item in expected[100 : 100 + REJECTED]]
    assert str(raised.value) == (
        f"Config did not accept 50 of 250 evaluations: 50 returned as FailedEvaluations by "
        f"1 of 3 PutEvaluations calls (Config's client or server error; it gives no reason "
        f"per evaluation): 50 COMPLIANT; resources {_ids(rejected)}. "
        "The invocation fails so that the event is retried."
    )
    # The stubber's queue is empty at teardown: the third batch was put as well.


def _accept_all(puts: list[list[dict[str, Any]]]) -> bytes:
    return b'{"FailedEvaluations": []}'


@dataclass
class FakeConfig:
    """A Config endpoint on 127.0.0.1; ``answer(puts so far)`` is the body of each
    PutEvaluations answer (HTTP 200)."""

    answer: Callable[[list[list[dict[str, Any]]]], bytes] = _accept_all
    puts: list[list[dict[str, Any]]] = field(default_factory=list)
    url: str = ""


def _handler(fake: FakeConfig) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            operation = self.headers["X-Amz-Target"].split(".")[-1]
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if operation == "GetComplianceDetailsByConfigRule":
                body = b'{"EvaluationResults": []}'
            elif operation == "PutEvaluations":
                fake.puts.append(request["Evaluations"])
                body = fake.answer(fake.puts)
            else:
                self.send_error(400, f"unexpected {operation}")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass  # keep the test output quiet

    return Handler


@pytest.fixture
def fake_config(monkeypatch, aws_account) -> Iterator[FakeConfig]:
    """The local Config endpoint; the rule's own Config clients are pointed at it."""
    fake = FakeConfig()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_CONFIG_SERVICE", fake.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def swept_account(iam) -> list[str]:
    """SWEEP_USERS users in the moto account, every one COMPLIANT; their IDs."""
    return [iam.create_user(UserName=f"user-{n:03d}")["User"]["UserId"] for n in range(SWEEP_USERS)]


def _sweep() -> list[dict[str, Any]]:
    return lambda_handler(load_event("scheduled", {"AssumeRoleMode": "false"}), None)


def test_scenario_22_over_http_failed_evaluations_are_reported(fake_config, swept_account):
    def reject_half_of_the_second_batch(puts: list[list[dict[str, Any]]]) -> bytes:
        failed = puts[1][:REJECTED] if len(puts) == 2 else []
        return json.dumps({"FailedEvaluations": failed}).encode()

    fake_config.answer = reject_half_of_the_second_batch

    with pytest.raises(EvaluationsRejected) as raised:
        _sweep()

    assert [len(batch) for batch in fake_config.puts] == [100, 100, 50]
    rejected = [item["ComplianceResourceId"] for item in fake_config.puts[1][:REJECTED]]
    assert set(rejected) <= set(swept_account)
    assert str(raised.value) == (
        f"Config did not accept 50 of 250 evaluations: 50 returned as FailedEvaluations by "
        f"1 of 3 PutEvaluations calls (Config's client or server error; it gives no reason "
        f"per evaluation): 50 COMPLIANT; resources {_ids(rejected)}. "
        "The invocation fails so that the event is retried."
    )


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            b"<html><body>Service Unavailable</body></html>",
            "<html><body>Service Unavailable</body></html>",
        ),
        (b"", ""),
        (b'["not", "an", "object"]', '["not", "an", "object"]'),
    ],
    ids=["html", "empty", "json-list"],
)
def test_scenario_22_over_http_unreadable_answer_fails_the_invocation(
    fake_config, swept_account, body, shown
):
    fake_config.answer = lambda puts: body if len(puts) == 3 else _accept_all(puts)

    with pytest.raises(EvaluationsRejected) as raised:
        _sweep()

    assert [len(batch) for batch in fake_config.puts] == [100, 100, 50]
    assert str(raised.value) == (
        "Config did not accept 50 of 250 evaluations: 50 sent in 1 of 3 PutEvaluations calls "
        f"answered HTTP 200 with a body that is not a JSON object ({shown!r}), so Config "
        "never confirmed them. The invocation fails so that the event is retried."
    )


def test_scenario_22_over_http_accepted_evaluations_succeed(fake_config, swept_account):
    result = _sweep()  # every answer is {"FailedEvaluations": []}

    assert sorted(item["ComplianceResourceId"] for item in result) == sorted(swept_account)
    assert [len(batch) for batch in fake_config.puts] == [100, 100, 50]
