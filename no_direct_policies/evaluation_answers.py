"""Config's answers to the calls rdklib makes, checked instead of thrown away.

rdklib calls PutEvaluations and drops the response, so evaluations Config hands
back in ``FailedEvaluations`` (or a 200 answer whose body is not JSON) vanish
while the invocation succeeds. For the length of one invocation,
``watching_config_clients`` makes every Config client rdklib's ClientFactory
builds report here through botocore's event hooks; ``raise_if_rejected`` then
fails the invocation, so Lambda retries the event and, after its retries, sends
it to the dead-letter queue. rdklib's batching of 100 is untouched.

The same hooks check GetResourceConfigHistory's answer on the oversized path:
no configuration item for the resource is a ``MalformedEvent`` naming it,
instead of rdklib's bare ``IndexError``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import FunctionType, MethodType
from typing import Any

from rdklib import ClientFactory

from no_direct_policies.rule_event import check_history

_SERVICE = "config-service"  # botocore's event name for Config
_SHOWN_IDS = 5
_SHOWN_BODY = 60


class EvaluationsRejected(RuntimeError):
    """Config did not accept every evaluation rdklib put; the invocation must fail."""


class ConfigAnswers:
    """What Config answered to this invocation's PutEvaluations calls."""

    def __init__(self, invoking_event: dict[str, Any]) -> None:
        self.invoking_event = invoking_event
        self.calls = 0
        self.put = 0
        self.rejected: list[dict[str, Any]] = []
        self.rejecting_calls = 0
        self.unreadable: list[tuple[int, bytes]] = []  # (HTTP status, body) per call
        self.unconfirmed = 0  # evaluations sent in calls whose answer was unreadable
        self._batch = 0
        self._clients: list[Any] = []
        self._hooks = (
            (f"provide-client-params.{_SERVICE}.PutEvaluations", self._count_batch),
            (f"before-parse.{_SERVICE}.PutEvaluations", self._check_body),
            (f"after-call.{_SERVICE}.PutEvaluations", self._record_answer),
            (f"after-call.{_SERVICE}.GetResourceConfigHistory", self._check_history),
        )

    def watch(self, client: Any) -> None:
        """Hook into ``client`` (a botocore Config client); once per client."""
        for event_name, handler in self._hooks:
            client.meta.events.register(event_name, handler, unique_id=self._id(event_name))
        self._clients.append(client)

    def unwatch(self) -> None:
        """Remove the hooks from every watched client."""
        for client in self._clients:
            for event_name, _ in self._hooks:
                client.meta.events.unregister(event_name, unique_id=self._id(event_name))
        self._clients.clear()

    def _id(self, event_name: str) -> str:
        return f"{event_name}-{id(self)}"

    def _count_batch(self, params: dict[str, Any], **_: Any) -> None:
        self._batch = len(params.get("Evaluations") or ())
        self.calls += 1
        self.put += self._batch

    def _check_body(self, response_dict: dict[str, Any], **_: Any) -> None:
        # Runs on real HTTP answers only. Errors (>= 300) become ClientError in botocore;
        # a 200 whose body is not a JSON object parses as "nothing failed".
        status = response_dict.get("status_code", 0)
        body = response_dict.get("body") or b""
        if status >= 300:
            return
        try:
            readable = isinstance(json.loads(body), dict)
        except ValueError:
            readable = False
        if not readable:
            self.unreadable.append((status, body))
            self.unconfirmed += self._batch
            # Recorded: let botocore parse an empty answer (a JSON list would crash its
            # parser) so the remaining batches are still put before the invocation fails.
            response_dict["body"] = b"{}"

    def _record_answer(self, parsed: dict[str, Any], **_: Any) -> None:
        failed = parsed.get("FailedEvaluations") or []
        if failed:
            self.rejecting_calls += 1
            self.rejected.extend(failed)

    def _check_history(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300:
            return  # botocore raises the ClientError next
        check_history(self.invoking_event.get("configurationItemSummary") or {}, parsed)

    def raise_if_rejected(self) -> None:
        """Raise EvaluationsRejected naming how many evaluations Config did not accept, and why."""
        if not self.rejected and not self.unreadable:
            return
        reasons = []
        if self.rejected:
            verdicts = Counter(item.get("ComplianceType") for item in self.rejected)
            reasons.append(
                f"{len(self.rejected)} returned as FailedEvaluations by {self.rejecting_calls} "
                f"of {self.calls} PutEvaluations calls (Config's client or server error; it "
                f"gives no reason per evaluation): "
                + ", ".join(f"{count} {verdict}" for verdict, count in sorted(verdicts.items()))
                + f"; resources {_ids(self.rejected)}"
            )
        if self.unreadable:
            status, body = self.unreadable[0]
            shown = body[:_SHOWN_BODY].decode("utf-8", "replace")
            reasons.append(
                f"{self.unconfirmed} sent in {len(self.unreadable)} of {self.calls} "
                f"PutEvaluations calls answered HTTP {status} with a body that is not a JSON "
                f"object ({shown!r}), so Config never confirmed them"
            )
        total = len(self.rejected) + self.unconfirmed
        raise EvaluationsRejected(
            f"Config did not accept {total} of {self.put} evaluations: {'; '.join(reasons)}. "
            "The invocation fails so that the event is retried."
        )


def _ids(evaluations: list[dict[str, Any]]) -> str:
    ids = [str(item.get("ComplianceResourceId")) for item in evaluations]
    shown = ", ".join(ids[:_SHOWN_IDS])
    return shown if len(ids) <= _SHOWN_IDS else f"{shown} and {len(ids) - _SHOWN_IDS} more"


@contextmanager
def watching_config_clients(invoking_event: dict[str, Any]) -> Iterator[ConfigAnswers]:
    """For the ``with`` block, every Config client rdklib builds reports to the answers."""
    answers = ConfigAnswers(invoking_event)
    build_client = ClientFactory.build_client

    def build_watched_client(factory: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        # rdklib's own build_client is a plain function to bind; a replacement may be bound.
        build = (
            MethodType(build_client, factory)
            if isinstance(build_client, FunctionType)
            else build_client
        )
        client = build(service, *args, **kwargs)
        if service == "config":
            answers.watch(client)
        return client

    ClientFactory.build_client = build_watched_client
    try:
        yield answers
    finally:
        ClientFactory.build_client = build_client
        answers.unwatch()
