"""Fixtures of the command-line tests: run the CLI in-process and build small accounts."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from cli_support import CliRun, run_cli


@pytest.fixture
def cli(iam) -> Callable[..., CliRun]:
    """Run ``python -m no_direct_policies`` in-process on the test's moto account."""

    return run_cli


@pytest.fixture
def make_user(iam) -> Callable[..., dict]:
    """Create a user with managed policies attached directly (and optional inline ones)."""

    def create(name: str, *arns: str, path: str = "/", inline: tuple[str, ...] = ()) -> dict:
        user = iam.create_user(UserName=name, Path=path)["User"]
        for arn in arns:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        for policy_name in inline:
            iam.put_user_policy(
                UserName=name,
                PolicyName=policy_name,
                PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                '"Action":"s3:ListBucket","Resource":"*"}]}',
            )
        return user

    return create


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Endpoint(http.server.ThreadingHTTPServer):
    """An HTTP server that answers every request with ``answer`` (status, content type, body),
    or, when ``answer`` is None, reads the request and never answers."""

    daemon_threads = True
    answer: tuple[int, str, bytes] | None = None


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.server.answer is None:
            self.server.silence.wait()
            return
        status, content_type, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[_Endpoint]:
    """A local HTTP endpoint that is not AWS; set ``.answer`` to what it replies."""
    server = _Endpoint(("127.0.0.1", 0), _Handler)
    server.silence = threading.Event()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.silence.set()
    server.shutdown()
    server.server_close()
