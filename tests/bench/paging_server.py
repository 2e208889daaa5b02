"""A local moto server that pages like IAM and counts every request by API action.

Stock moto 5.2.5 answers ``ListUsers`` and ``GetAccountAuthorizationDetails``
in one page whatever ``MaxItems`` says. This server (moto's own WSGI app, run
in its own process with ``python -m tests.bench.paging_server --port N``)
changes four things (and refuses ``DeleteGroup`` on a group that has members
or policies, as IAM does):

* ``ListUsers`` and ``GetAccountAuthorizationDetails`` honour ``MaxItems``
  (default 100, 1 to 1000, as IAM) and ``Marker``, with ``IsTruncated``.
* Every AWS request is counted at the server as ``service:Action`` (the
  service from the SigV4 credential scope, the action from ``Action=`` of a
  query-protocol request or from ``X-Amz-Target`` of a JSON one).
* Config ``ListDiscoveredResources`` for IAM users is answered from moto's IAM
  users (a recorder that recorded them all; moto's Config does not record IAM users).
* Config ``GetComplianceDetailsByConfigRule``, which moto lacks, is answered
  from the evaluations this server received through ``PutEvaluations``
  (COMPLIANT and NON_COMPLIANT ones, ``Limit`` at most 100, ``NextToken``), so a
  second periodic sweep sees the first one's results, as in a deployed rule.

Control endpoints (not counted): ``POST /_bench/seed`` creates policies and
users directly in moto's backend (thousands of users in well under a second,
where HTTP would take minutes), ``GET /_bench/counts``, ``POST /_bench/reset-counts``
and ``POST /_bench/reset`` (moto's state, the counts and the stored evaluations).
``PagingServer`` starts and stops such a process for the benchmark and the tests.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAX_ITEMS = 100  # IAM's default page size for these two actions
LARGEST_MAX_ITEMS = 1000
CONFIG_PAGE_LIMIT = 100
POLICY_DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
    }
)
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


# --- server side (runs in the server process) --------------------------------------------


def _page(items: list[Any], marker: str | None, max_items: Any) -> tuple[list[Any], str | None]:
    """Items ``[marker, marker + MaxItems)`` and the next marker (None on the last page)."""
    size = DEFAULT_MAX_ITEMS if max_items in (None, "") else int(max_items)
    if not 1 <= size <= LARGEST_MAX_ITEMS:
        from moto.iam.exceptions import ValidationError

        raise ValidationError(
            f"1 validation error detected: Value '{size}' at 'maxItems' failed to satisfy "
            "constraint: Member must have value less than or equal to 1000"
        )
    start = int(marker) if marker else 0
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _patch_iam_paging() -> None:
    """Make moto's IAM responses page ListUsers and GetAccountAuthorizationDetails."""
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse

    def list_users(self: Any) -> ActionResult:
        users = list(self.backend.list_users(self._get_param("PathPrefix"), None, None))
        page, marker = _page(users, self._get_param("Marker"), self._get_param("MaxItems"))
        result: dict[str, Any] = {"Users": page, "IsTruncated": marker is not None}
        if marker:
            result["Marker"] = marker
        return ActionResult(result)

    def get_account_authorization_details(self: Any) -> ActionResult:
        details = self.backend.get_account_authorization_details(self._get_param("Filter", []))
        keyed = [
            (key, item)
            for key, source in (
                ("UserDetailList", "users"),
                ("GroupDetailList", "groups"),
                ("RoleDetailList", "roles"),
                ("Policies", "managed_policies"),
            )
            for item in details[source]
        ]
        page, marker = _page(keyed, self._get_param("Marker"), self._get_param("MaxItems"))
        result: dict[str, Any] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
        }
        for key, item in page:
            result[key].append(item)
        result["IsTruncated"] = marker is not None
        if marker:
            result["Marker"] = marker
        return ActionResult(result)

    IamResponse.list_users = list_users
    IamResponse.get_account_authorization_details = get_account_authorization_details


def _iam_backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    return iam_backends[DEFAULT_ACCOUNT_ID]["global"]


def seed(spec: dict[str, Any]) -> dict[str, int]:
    """Create ``spec["policies"]`` (names) and ``spec["users"]`` in moto's IAM backend.

    A user is ``{"name", "id" (optional, e.g. AIDA...), "path" (optional),
    "policies": [policy names]}``; the policies must be in ``spec["policies"]`` or
    created by an earlier seed.
    """
    backend = _iam_backend()
    for name in spec.get("policies", []):
        backend.create_policy("", "/", POLICY_DOCUMENT, name, [])
    arns = {policy.name: policy.arn for policy in backend.managed_policies.values()}
    for user in spec.get("users", []):
        created = backend.create_user("us-east-1", user["name"], user.get("path", "/"))
        if user.get("id"):
            created.id = user["id"]
        for policy in user.get("policies", []):
            backend.attach_user_policy(arns[policy], user["name"])
    return {"users": len(backend.users), "policies": len(arns)}


def _discovered_users(request: dict[str, Any]) -> dict[str, Any]:
    """Config's ``ListDiscoveredResources`` for IAM users, as a recorder that has recorded
    every user of the account (moto's Config does not record IAM users)."""
    if request.get("resourceType") != "AWS::IAM::User":
        return {"resourceIdentifiers": []}
    wanted = set(request.get("resourceIds") or ())
    return {
        "resourceIdentifiers": [
            {"resourceType": "AWS::IAM::User", "resourceId": user.id, "resourceName": user.name}
            for user in _iam_backend().users.values()
            if not wanted or user.id in wanted
        ]
    }


class CountingApp:
    """WSGI middleware: count requests by action, answer the control endpoints and Config's
    GetComplianceDetailsByConfigRule, pass everything else to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.evaluations: dict[tuple[str, str], str] = {}  # (type, id) -> compliance type

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path.startswith("/_bench/"):
            return self._control(path, body, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        service, action, payload = self._identify(environ, body)
        with self.lock:
            self.counts[f"{service}:{action}"] += 1
        if service == "config" and action == "GetComplianceDetailsByConfigRule":
            return self._json(start_response, self._compliance_details(payload))
        if service == "config" and action == "ListDiscoveredResources":
            return self._json(start_response, _discovered_users(payload))
        if service == "config" and action == "PutEvaluations":
            with self.lock:
                for evaluation in payload.get("Evaluations", []):
                    key = (evaluation["ComplianceResourceType"], evaluation["ComplianceResourceId"])
                    self.evaluations[key] = evaluation["ComplianceType"]
        return self.app(environ, start_response)

    @staticmethod
    def _identify(environ: dict[str, Any], body: bytes) -> tuple[str, str, dict[str, Any]]:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else "unknown"
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return service, target.rsplit(".", 1)[-1], json.loads(body or b"{}")
        form = parse_qs(environ.get("QUERY_STRING", "")) | parse_qs(body.decode(errors="replace"))
        return service, form.get("Action", ["unknown"])[0], {}

    def _compliance_details(self, request: dict[str, Any]) -> dict[str, Any]:
        wanted = set(request.get("ComplianceTypes") or ["COMPLIANT", "NON_COMPLIANT"])
        limit = min(int(request.get("Limit") or CONFIG_PAGE_LIMIT), CONFIG_PAGE_LIMIT)
        with self.lock:
            stored = [key for key, kind in self.evaluations.items() if kind in wanted]
        start = int(request.get("NextToken") or 0)
        response: dict[str, Any] = {
            "EvaluationResults": [
                {
                    "EvaluationResultIdentifier": {
                        "EvaluationResultQualifier": {
                            "ConfigRuleName": request.get("ConfigRuleName", ""),
                            "ResourceType": resource_type,
                            "ResourceId": resource_id,
                        }
                    },
                    "ComplianceType": self.evaluations[(resource_type, resource_id)],
                }
                for resource_type, resource_id in stored[start : start + limit]
            ]
        }
        if start + limit < len(stored):
            response["NextToken"] = str(start + limit)
        return response

    def _control(self, path: str, body: bytes, start_response: Callable) -> Iterable[bytes]:
        if path == "/_bench/seed":
            return self._json(start_response, seed(json.loads(body)))
        with self.lock:
            if path == "/_bench/counts":
                return self._json(start_response, dict(self.counts))
            if path == "/_bench/reset-counts":
                self.counts.clear()
                return self._json(start_response, {})
            if path == "/_bench/reset":
                from moto.backends import get_backend

                for backend_name in ("iam", "config"):
                    get_backend(backend_name).reset()
                self.counts.clear()
                self.evaluations.clear()
                return self._json(start_response, {})
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"unknown control endpoint"]

    @staticmethod
    def _json(start_response: Callable, value: Any) -> Iterable[bytes]:
        data = json.dumps(value).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
        )
        return [data]


def serve(host: str, port: int) -> None:
    """Run the paging, counting server until the process is stopped."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    # Imported here, in the server's process: the benchmark process stays small, since a
    # child it starts inherits its peak RSS (Linux keeps ru_maxrss across execve).
    from no_direct_policies.simulation.account import patch_moto_group_deletion

    _patch_iam_paging()
    patch_moto_group_deletion()  # DeleteGroup refuses a group with members or policies
    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    print(f"listening on http://{host}:{port}", flush=True)
    server.serve_forever()


# --- client side ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client_environment(endpoint: str, **extra: str) -> dict[str, str]:
    """A process environment that sends every AWS call to ``endpoint`` with fake credentials."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": endpoint,
            **extra,
        }
    )
    return env


class PagingServer:
    """The server in a child process: ``with PagingServer() as server: server.endpoint``."""

    def __init__(self, startup_seconds: float = 30) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.startup_seconds = startup_seconds
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PagingServer:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.bench.paging_server", "--port", str(self.port)],
            cwd=ROOT,
            env=client_environment(self.endpoint),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.startup_seconds
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"paging server did not start on port {self.port}")
            time.sleep(0.05)

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def _call(self, path: str, value: Any = None) -> Any:
        url = f"{self.endpoint}{path}"
        if path == "/_bench/counts":
            request = urllib.request.Request(url)  # noqa: S310 - our own local server
        else:
            data = json.dumps(value if value is not None else {}).encode()
            request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            return json.loads(response.read())

    def seed(self, spec: dict[str, Any]) -> dict[str, int]:
        return self._call("/_bench/seed", spec)

    def counts(self) -> Counter[str]:
        return Counter(self._call("/_bench/counts"))

    def reset_counts(self) -> None:
        self._call("/_bench/reset-counts")

    def reset(self) -> None:
        self._call("/_bench/reset")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port)
