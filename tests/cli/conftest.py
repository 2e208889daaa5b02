"""Fixtures of the command-line tests: run the CLI in-process and build small accounts."""

from __future__ import annotations

import socket
from collections.abc import Callable

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
