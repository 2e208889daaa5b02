#!/bin/sh
# Preflight for `make deploy`, `make undeploy` and `make deploy-org`: stop with
# one clear line, before anything is built or changed, when a required make
# variable, a parameter length, the AWS CLI, a usable region or working
# credentials is missing. Variables and lengths are checked first, before any
# AWS call; a network failure is reported as one, not as bad credentials.
#
#   deploy/require-aws.sh TARGET [NAME=VALUE ...]   (each NAME must be non-empty)
#
# Environment: PARAMETER_OVERRIDES (checked against Config's length limits),
# REGION (deploy-org: the one region to deploy to), PYTHON (default python3).
set -u
target="$1"
shift
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"

fail() {
    echo "make $target: $*" >&2
    exit 2
}

for assignment in "$@"; do
    name="${assignment%%=*}"
    [ -n "${assignment#*=}" ] || fail "$name is not set. Run 'make $target $name=<value>' (see docs/deployment.md)."
done

if [ -n "${PARAMETER_OVERRIDES:-}" ]; then
    length_error=$("$python" -m deploy.limits "$PARAMETER_OVERRIDES" 2>&1) ||
        fail "$(echo "$length_error" | head -n 1)"
fi

command -v aws >/dev/null 2>&1 ||
    fail "the AWS CLI ('aws') is not on PATH. Install it (https://aws.amazon.com/cli/), run 'aws configure', then retry."

region="${REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null)}}}"
[ -n "$region" ] ||
    fail "no AWS region is set. Run 'aws configure set region <region>' or export AWS_REGION (one region per account where Config records IAM users: see docs/deployment.md, Regions)."
if [ "$target" != undeploy ]; then
    region_error=$("$python" -m deploy.regions "$region" 2>&1) || fail "$region_error"
fi

if ! identity_error=$(aws sts get-caller-identity --region "$region" --output text --query Account 2>&1 >/dev/null); then
    case "$identity_error" in
    *"Could not connect to the endpoint URL"* | *"Connect timeout"* | *"Connection was closed"* | \
        *"Name or service not known"* | *"Temporary failure in name resolution"* | \
        *"Failed to establish a new connection"* | *"ProxyConnectionError"* | *"Connection refused"*)
        fail "could not reach AWS ($(echo "$identity_error" | tr -s '\n' ' ' | sed 's/ *$//')). Check the network, a proxy or AWS_ENDPOINT_URL, then retry." ;;
    *"Unable to locate credentials"* | *"could not be found"* | *"NoCredentials"*)
        fail "no AWS credentials found. Run 'aws configure' or 'aws sso login', or export AWS_PROFILE, then retry." ;;
    *)
        fail "the AWS credentials do not work ($(echo "$identity_error" | tr -s '\n' ' ' | sed 's/ *$//')). Refresh them, then retry." ;;
    esac
fi
