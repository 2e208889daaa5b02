#!/bin/sh
# Preflight for `make deploy`, `make undeploy` and `make deploy-org`: stop with
# one clear line, before anything is built or changed, when the AWS CLI,
# credentials, a region or a required make variable is missing.
#
#   deploy/require-aws.sh TARGET [NAME=VALUE ...]   (each NAME must be non-empty)
set -u
target="$1"
shift

fail() {
    echo "make $target: $*" >&2
    exit 2
}

command -v aws >/dev/null 2>&1 ||
    fail "the AWS CLI ('aws') is not on PATH. Install it (https://aws.amazon.com/cli/), run 'aws configure', then retry."

region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null)}}"
[ -n "$region" ] ||
    fail "no AWS region is set. Run 'aws configure set region <region>' or export AWS_REGION (deploy IAM rules in the one region where Config records IAM users)."

if ! identity_error=$(aws sts get-caller-identity --output text --query Account 2>&1 >/dev/null); then
    case "$identity_error" in
    *"Unable to locate credentials"* | *"could not be found"* | *"NoCredentials"*)
        fail "no AWS credentials found. Run 'aws configure' or 'aws sso login', or export AWS_PROFILE, then retry." ;;
    *)
        fail "the AWS credentials do not work ($(echo "$identity_error" | tr -s '\n' ' ' | sed 's/ *$//')). Refresh them, then retry." ;;
    esac
fi

for assignment in "$@"; do
    name="${assignment%%=*}"
    [ -n "${assignment#*=}" ] || fail "$name is not set. Run 'make $target $name=<value>' (see README, Deployment)."
done
