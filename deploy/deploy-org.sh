#!/bin/sh
# `make deploy-org`: roll the rule and its remediation out to an AWS Organization.
# Run from the management account (or a delegated administrator for
# CloudFormation StackSets and AWS Config), after `make package`.
#
#   1. Upload the Lambda zips and create (or update) the service-managed
#      StackSet of the per-account resources, with automatic deployment, and
#      deploy it to the target OUs in this region.
#   2. Deploy the same per-account template as a plain stack in this account:
#      service-managed StackSets never deploy to the management account.
#   3. Create (or update) the organization conformance pack: the rule and its
#      remediation in every account.
#
# Environment (set by the Makefile): ARTIFACT_BUCKET, ORG_UNIT_IDS
# (comma-separated OU or root IDs), STACK_SET_NAME, STACK_NAME, PACK_NAME.
set -eu
cd "$(dirname "$0")/.."
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region)}}"

aws cloudformation package --template-file build/stackset.yaml \
    --s3-bucket "$ARTIFACT_BUCKET" --output-template-file build/stackset.packaged.yaml

if aws cloudformation describe-stack-set --stack-set-name "$STACK_SET_NAME" >/dev/null 2>&1; then
    operation=$(aws cloudformation update-stack-set --stack-set-name "$STACK_SET_NAME" \
        --template-body file://build/stackset.packaged.yaml --capabilities CAPABILITY_NAMED_IAM \
        --query OperationId --output text)
else
    aws cloudformation create-stack-set --stack-set-name "$STACK_SET_NAME" \
        --template-body file://build/stackset.packaged.yaml --capabilities CAPABILITY_NAMED_IAM \
        --permission-model SERVICE_MANAGED \
        --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false
    operation=$(aws cloudformation create-stack-instances --stack-set-name "$STACK_SET_NAME" \
        --deployment-targets "OrganizationalUnitIds=$ORG_UNIT_IDS" --regions "$region" \
        --operation-preferences FailureTolerancePercentage=0,MaxConcurrentPercentage=25 \
        --query OperationId --output text)
fi

# The conformance pack's rule needs the Lambdas in every account first.
echo "waiting for StackSet operation $operation"
while :; do
    status=$(aws cloudformation describe-stack-set-operation --stack-set-name "$STACK_SET_NAME" \
        --operation-id "$operation" --query StackSetOperation.Status --output text)
    case "$status" in
    SUCCEEDED) break ;;
    FAILED | STOPPED)
        echo "StackSet operation $operation ended $status: see" \
            "'aws cloudformation list-stack-set-operation-results --stack-set-name $STACK_SET_NAME --operation-id $operation'" >&2
        exit 1 ;;
    *) sleep 15 ;;
    esac
done

aws cloudformation deploy --template-file build/stackset.packaged.yaml \
    --stack-name "$STACK_NAME" --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset

aws configservice put-organization-conformance-pack \
    --organization-conformance-pack-name "$PACK_NAME" \
    --template-body file://build/conformance-pack.yaml
echo "organization conformance pack $PACK_NAME requested; follow it with" \
    "'aws configservice describe-organization-conformance-pack-statuses'"
