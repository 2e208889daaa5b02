"""AWS clients for the command-line tool, and AWS errors told in one line.

Clients come from the standard credential chain (environment, ``--profile``,
shared files, instance roles), honour ``--endpoint-url`` or
``AWS_ENDPOINT_URL`` (a moto server, LocalStack), and retry throttling with
botocore's standard retry mode unless ``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS``
say otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

# IAM is global; any region signs its requests. Used when none is configured.
DEFAULT_REGION = "us-east-1"
# Throttling on an account with thousands of users is expected: retry it patiently.
DEFAULT_MAX_ATTEMPTS = 10
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


class CommandError(Exception):
    """A failure the user can fix; the CLI prints the message as one line and exits."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def usage_error(error: Exception, option_of_name: Mapping[str, str]) -> CommandError:
    """A usage error from a validation message that names a parameter or payload key.

    The rule and the helper name their own parameters; the user typed an option,
    so the message also names the option that carries the value.
    """
    options = [option for name, option in option_of_name.items() if name in str(error)]
    where = f" (command-line option {options[0]})" if options else ""
    return CommandError(f"{error}{where}", EXIT_USAGE)


# Exit codes of the command-line tool (documented in the README).
EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_USAGE = 2
EXIT_AWS_ERROR = 3
EXIT_REFUSED = 4


def iam_client(
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """An IAM client from the standard credential chain, with retries for throttling."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as error:
        # The profile may come from AWS_PROFILE rather than --profile: name the one not found.
        missing = error.kwargs.get("profile", profile)
        raise CommandError(
            f"AWS profile {missing!r} not found: check --profile / AWS_PROFILE against "
            "the profiles in ~/.aws/config",
            EXIT_USAGE,
        ) from error
    retries: dict[str, Any] = {"mode": os.environ.get("AWS_RETRY_MODE", "standard")}
    if "AWS_MAX_ATTEMPTS" not in os.environ:
        retries["total_max_attempts"] = DEFAULT_MAX_ATTEMPTS
    try:
        return session.client(
            "iam",
            region_name=session.region_name or DEFAULT_REGION,
            endpoint_url=endpoint_url or None,
            config=Config(retries=retries),
        )
    except (ValueError, BotoCoreError) as error:
        # A malformed endpoint URL or retry setting: the user's configuration, not AWS.
        raise CommandError(
            f"cannot set up the AWS client: {error}. Check --endpoint-url / AWS_ENDPOINT_URL "
            "(e.g. http://127.0.0.1:5000), AWS_RETRY_MODE (standard, adaptive, legacy) and "
            "AWS_MAX_ATTEMPTS (a whole number)",
            EXIT_USAGE,
        ) from error


def describe_aws_error(error: Exception) -> CommandError | None:
    """The one-line message and exit code for an AWS failure, or None if it is not one."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return CommandError(
            f"no usable AWS credentials ({error}): use --profile, set AWS_PROFILE, or "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            EXIT_AWS_ERROR,
        )
    if isinstance(error, EndpointConnectionError):
        return CommandError(
            f"cannot reach the AWS endpoint {error.kwargs.get('endpoint_url')}: check "
            "--endpoint-url / AWS_ENDPOINT_URL and the network",
            EXIT_AWS_ERROR,
        )
    if isinstance(error, NoRegionError):
        return CommandError("no AWS region: pass --region or set AWS_REGION", EXIT_USAGE)
    if isinstance(error, ClientError):
        return _describe_client_error(error)
    if isinstance(error, BotoCoreError):
        return CommandError(f"AWS SDK error: {error}", EXIT_AWS_ERROR)
    return None


def _describe_client_error(error: ClientError) -> CommandError:
    code = error.response.get("Error", {}).get("Code", "Unknown")
    message = error.response.get("Error", {}).get("Message", "")
    action = f"iam:{error.operation_name}"
    attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    if code in THROTTLING_CODES:
        text = (
            f"AWS throttled {action} ({code}) after {attempts} attempts: run again later, "
            "or allow more retries with AWS_MAX_ATTEMPTS"
        )
    elif "AccessDenied" in code or code == "UnauthorizedOperation":
        text = f"access denied to {action} ({code}): grant {action} to the caller. {message}"
    elif code in {"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"}:
        text = f"AWS rejected the credentials ({code}): {message} Refresh or replace them"
    else:
        text = f"AWS error {code} on {action}: {message}"
    return CommandError(text.strip(), EXIT_AWS_ERROR)
