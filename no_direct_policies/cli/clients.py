"""AWS clients for the command-line tool, and AWS errors told in one line.

Clients come from the standard credential chain (environment, ``--profile``,
shared files, instance roles), honour ``--endpoint-url`` or
``AWS_ENDPOINT_URL`` (a moto server, LocalStack), and retry throttling with
botocore's standard retry mode unless ``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS``
say otherwise. Every client refuses an answer that is not an AWS response (an
HTML page, an empty body), so a wrong endpoint is reported, not mis-parsed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit
from xml.etree import ElementTree

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoAuthTokenError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    RefreshWithMFAUnsupportedError,
    SSOError,
    TokenRetrievalError,
)

from no_direct_policies.cli.echo import shorten
from no_direct_policies.cli.errors import EXIT_AWS_ERROR, EXIT_USAGE, CommandError
from no_direct_policies.findings.asff import SecurityHubImportError

if TYPE_CHECKING:
    from botocore.config import _RetryDict
    from mypy_boto3_iam import IAMClient

# IAM is global; any region signs its requests. Used when none is configured.
DEFAULT_REGION = "us-east-1"
# Throttling on an account with thousands of users is expected: retry it patiently.
DEFAULT_MAX_ATTEMPTS = 10
# Seconds; botocore's own defaults are 60 s each, times 10 attempts on a silent endpoint.
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
ENDPOINT_SCHEMES = ("http", "https")
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


# Error codes with which AWS rejects the caller's credentials themselves.
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "AuthFailure",
        "MissingAuthenticationToken",
        "IncompleteSignature",
    }
)
# botocore's failures to find or load credentials (some happen when a client is built).
CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    NoAuthTokenError,
    TokenRetrievalError,
    RefreshWithMFAUnsupportedError,
    SSOError,
)
_CREDENTIAL_FIX = (
    "use --profile, set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


class NotAnAwsResponse(Exception):
    """The endpoint answered, but not with an AWS response (an HTML page, an empty body)."""

    def __init__(self, endpoint_url: str, operation: str, detail: str) -> None:
        super().__init__(f"{endpoint_url} answered {operation} with {detail}")
        self.endpoint_url = endpoint_url
        self.operation = operation
        self.detail = detail


def check_endpoint_url(endpoint_url: str | None) -> None:
    """Refuse, before any call, an endpoint that is not an http:// or https:// URL."""
    if not endpoint_url:
        return
    try:
        scheme = urlsplit(endpoint_url).scheme
    except ValueError:
        return  # malformed beyond the scheme: botocore names the problem when the client is built
    if scheme.lower() not in ENDPOINT_SCHEMES:
        raise CommandError(
            f"cannot set up the AWS client: endpoint {endpoint_url!r} is not an "
            "http:// or https:// URL. Check --endpoint-url / AWS_ENDPOINT_URL "
            "(e.g. http://127.0.0.1:5000)",
            EXIT_USAGE,
        )


def iam_client(**connection: Any) -> IAMClient:
    """An IAM client from the standard credential chain, with retries for throttling.

    ``connection``: the keyword arguments of ``aws_client`` after the service.
    """
    client: IAMClient = aws_client("iam", **connection)
    return client


Service = Literal["iam", "sts", "organizations", "config", "securityhub"]


def aws_client(
    service: Service,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    credentials: Mapping[str, str] | None = None,
) -> Any:
    """A client for ``service`` set up as the module docstring says.

    ``credentials``: an STS ``Credentials`` map (an assumed role); the profile is then unused.
    """
    check_endpoint_url(endpoint_url)
    try:
        if credentials is not None:
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
        else:
            session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as error:
        # The profile may come from AWS_PROFILE rather than --profile: name the one not found.
        missing = error.kwargs.get("profile", profile)
        raise CommandError(
            f"AWS profile {missing!r} not found: check --profile / AWS_PROFILE against "
            "the profiles in ~/.aws/config",
            EXIT_USAGE,
        ) from error
    # botocore checks the mode and the attempts (ValueError below): they come from the user.
    retries = cast("_RetryDict", {"mode": os.environ.get("AWS_RETRY_MODE", "standard")})
    if "AWS_MAX_ATTEMPTS" not in os.environ:
        retries["total_max_attempts"] = DEFAULT_MAX_ATTEMPTS
    try:
        client: Any = session.client(
            service,
            region_name=session.region_name or DEFAULT_REGION,
            endpoint_url=endpoint_url or None,
            config=Config(
                retries=retries, connect_timeout=connect_timeout, read_timeout=read_timeout
            ),
        )
    except CREDENTIAL_ERRORS:
        raise  # a credential problem, told by describe_aws_error with the credential hint
    except (ValueError, BotoCoreError) as error:
        # A malformed endpoint URL or retry setting: the user's configuration, not AWS.
        raise CommandError(
            f"cannot set up the AWS client: {error}. Check --endpoint-url / AWS_ENDPOINT_URL "
            "(e.g. http://127.0.0.1:5000), AWS_RETRY_MODE (standard, adaptive, legacy) and "
            "AWS_MAX_ATTEMPTS (a whole number)",
            EXIT_USAGE,
        ) from error
    _refuse_non_aws_responses(client)
    return client


def response_body(http_response: Any) -> bytes | None:
    """The raw body of a botocore HTTP response, or None when it has none to read."""
    try:
        content: bytes | None = http_response.content
    except AttributeError:  # a response made up in a test or a handler, without a body
        return None
    return content


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def is_aws_body(body: bytes | None, operation_model: Any = None, status: int = 200) -> bool:
    """Whether a body is a plausible AWS answer to ``operation_model``.

    Query protocol (IAM, STS): XML whose root is ``<Operation>Response`` holding
    ``<Operation>Result`` when the operation has one (an error: any ``...Response``).
    JSON protocols: an empty body or a JSON object. Without ``operation_model``,
    only the XML root's ``...Response`` suffix is checked.
    """
    if body is None:
        return True
    protocol = operation_model.metadata.get("protocol") if operation_model else "query"
    if protocol in ("json", "rest-json"):
        return _is_json_object(body)
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - parsed only to check its names
    except ElementTree.ParseError:
        return False
    name = _local_name(root.tag)
    if operation_model is None or status >= 300:
        return name.endswith("Response")
    output = operation_model.output_shape
    wrapper = output.serialization.get("resultWrapper") if output is not None else None
    has_result = wrapper is None or any(_local_name(child.tag) == wrapper for child in root)
    return name == f"{operation_model.name}Response" and has_result


def _is_json_object(body: bytes) -> bool:
    if not body.strip():
        return True
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def _refuse_non_aws_responses(client: Any) -> None:
    """Make the client raise NotAnAwsResponse instead of mis-parsing a stranger's answer.

    The body is checked before botocore parses it (botocore's parser fails on an HTML
    page or a wrong XML document with a traceback, and reads an empty success body as
    an empty result). Errors also record the service, so their message names the
    IAM action (``sts:AssumeRole``, not ``iam:AssumeRole``).
    """
    endpoint = client.meta.endpoint_url
    service = client.meta.service_model
    events = service.service_id.hyphenize()
    prefix = service.signing_name or service.endpoint_prefix

    def refuse(operation: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
        kind = headers.get("Content-Type") or headers.get("content-type") or "no content type"
        detail = f"HTTP {status}, {kind}, {len(body)} bytes"
        raise NotAnAwsResponse(endpoint, f"{prefix}:{operation}", detail)

    def before_parse(operation_model: Any, response_dict: Mapping[str, Any], **_: Any) -> None:
        body = response_dict.get("body")
        status = response_dict.get("status_code", 0)
        if isinstance(body, bytes) and not is_aws_body(body, operation_model, status):
            refuse(operation_model.name, status, response_dict.get("headers", {}), body)

    def after_call(parsed: Any = None, **_: Any) -> None:
        if isinstance(parsed, dict) and "Error" in parsed:
            parsed.setdefault("ResponseMetadata", {})[SERVICE_KEY] = prefix

    client.meta.events.register(f"before-parse.{events}", before_parse)
    client.meta.events.register(f"after-call.{events}", after_call)


# Where an error response records the service (IAM action prefix) that answered it.
SERVICE_KEY = "CliServicePrefix"


def _endpoint(error: BotoCoreError) -> str:
    return shorten(str(error.kwargs.get("endpoint_url")))


# SDK failures and their messages, most specific class first.
_SDK_ERRORS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], Any], ...] = (
    (
        CREDENTIAL_ERRORS,
        lambda error: f"no usable AWS credentials ({error}): {_CREDENTIAL_FIX}",
    ),
    (
        NotAnAwsResponse,
        lambda error: (
            f"the endpoint {shorten(error.endpoint_url)} did not answer {error.operation} like "
            f"AWS ({error.detail}): check --endpoint-url / AWS_ENDPOINT_URL points at AWS, "
            "a moto server or LocalStack"
        ),
    ),
    (
        ConnectTimeoutError,
        lambda error: (
            f"no connection to the AWS endpoint {_endpoint(error)} within the connect "
            "timeout: check --endpoint-url / AWS_ENDPOINT_URL and the network, or allow "
            "longer with --connect-timeout"
        ),
    ),
    (
        EndpointConnectionError,
        lambda error: (
            f"cannot reach the AWS endpoint {_endpoint(error)}: check --endpoint-url / "
            "AWS_ENDPOINT_URL and the network"
        ),
    ),
    (
        ReadTimeoutError,
        lambda error: (
            f"the AWS endpoint {_endpoint(error)} accepted the connection but did not answer "
            "within the read timeout: check the endpoint, or allow longer with --read-timeout"
        ),
    ),
    (
        SecurityHubImportError,
        lambda error: f"{error}: check the findings' account has Security Hub enabled",
    ),
    (BotoCoreError, lambda error: f"AWS SDK error: {error}"),
)


def describe_aws_error(error: BaseException) -> CommandError | None:
    """The one-line message and exit code for an AWS failure, or None if it is not one."""
    if isinstance(error, NoRegionError):
        return CommandError("no AWS region: pass --region or set AWS_REGION", EXIT_USAGE)
    if isinstance(error, ClientError):
        return _describe_client_error(error)
    for kinds, message in _SDK_ERRORS:
        if isinstance(error, kinds):
            return CommandError(message(error), EXIT_AWS_ERROR)
    return None


def _describe_client_error(error: ClientError) -> CommandError:
    code = error.response.get("Error", {}).get("Code", "Unknown")
    message = error.response.get("Error", {}).get("Message", "")
    service = error.response.get("ResponseMetadata", {}).get(SERVICE_KEY, "iam")
    action = f"{service}:{error.operation_name}"
    attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    if code in THROTTLING_CODES:
        text = (
            f"AWS throttled {action} ({code}) after {attempts} attempts: run again later, "
            "or allow more retries with AWS_MAX_ATTEMPTS"
        )
    elif "AccessDenied" in code or code == "UnauthorizedOperation":
        text = f"access denied to {action} ({code}): grant {action} to the caller. {message}"
    elif code in CREDENTIAL_CODES:
        text = (
            f"AWS rejected the credentials ({code}): {message} Refresh or replace them: "
            f"{_CREDENTIAL_FIX}"
        )
    else:
        text = f"AWS error {code} on {action}: {message}"
    return CommandError(text.strip(), EXIT_AWS_ERROR)
