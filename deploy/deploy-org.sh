#!/bin/sh
# `make deploy-org`: roll the rule and its remediation out to an AWS Organization,
# in the one region the user names (REGION). Run from the management account or
# from a delegated administrator for CloudFormation StackSets and AWS Config,
# after `make package`.
#
#   1. Find the management account (organizations describe-organization) and
#      whether this is it; a delegated administrator calls the StackSet APIs
#      with --call-as DELEGATED_ADMIN. Render the pack for the management
#      account: Config puts each member's ID in the ARNs it names.
#   2. Upload the Lambda zips and create (or update) the service-managed
#      StackSet of the per-account resources, with automatic deployment; on
#      every run, create its instances in the target OUs in REGION (a no-op
#      where they exist, so a widened ORG_UNIT_IDS reaches the new OUs); wait
#      for each operation.
#   3. From the management account only: deploy the same per-account template
#      there as a plain stack (service-managed StackSets never deploy to the
#      management account). From a delegated administrator the management
#      account is left out of the pack instead: a stack here would land in the
#      delegated administrator's own account, not there.
#   4. Create (or update) the organization conformance pack, with every active
#      account that has no current stack instance of the StackSet in REGION
#      (list-stack-instances) in ExcludedAccounts, the management account
#      excepted when step 3 covered it: the pack lands only where the Lambdas
#      are. Instances are never removed here, so accounts of OUs dropped from
#      ORG_UNIT_IDS keep theirs, and the pack with them.
#
# Environment (set by the Makefile): ARTIFACT_BUCKET, ORG_UNIT_IDS
# (comma-separated OU or root IDs), REGION, STACK_SET_NAME, STACK_NAME,
# PACK_NAME; PYTHON (default .venv/bin/python) renders the pack.
set -eu
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION" LC_ALL=C
# Config's limit on ExcludedAccounts (its API model).
excluded_max=1000

fail() {
    echo "make deploy-org: $*" >&2
    exit 2
}

caller=$(aws sts get-caller-identity --query Account --output text)
organization=$(aws organizations describe-organization \
    --query '[Organization.MasterAccountId,Organization.MasterAccountArn]' --output text)
management=$(echo "$organization" | cut -f1)
partition=$(echo "$organization" | cut -f2 | cut -d: -f2)
if [ "$caller" = "$management" ]; then
    call_as=SELF
else
    call_as=DELEGATED_ADMIN
    echo "running as delegated administrator $caller for management account $management"
fi

# The accounts under the targets, OUs followed down to their children.
accounts_under() {
    for parent in "$@"; do
        case "$parent" in
        r-*) aws organizations list-accounts --query 'Accounts[].Id' --output text ;;
        *)
            aws organizations list-accounts-for-parent --parent-id "$parent" \
                --query 'Accounts[].Id' --output text
            children=$(aws organizations list-organizational-units-for-parent --parent-id "$parent" \
                --query 'OrganizationalUnits[].Id' --output text)
            # shellcheck disable=SC2086 # one word per OU ID
            [ -z "$children" ] || accounts_under $children ;;
        esac
    done
}
one_per_line() { tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u; }

# Every active account, one per line.
active_accounts() {
    aws organizations list-accounts --query "Accounts[?Status=='ACTIVE'].Id" --output text |
        one_per_line
}
# The accounts where the StackSet's stack is in, in REGION, one per line (every
# page: the CLI follows NextToken).
instance_accounts() {
    aws cloudformation list-stack-instances --stack-set-name "$STACK_SET_NAME" \
        --call-as "$call_as" \
        --query "Summaries[?Region=='$REGION' && Status=='CURRENT'].Account" --output text |
        one_per_line
}
# build/excluded-accounts.txt: the active accounts not in the file $1, plus the
# management account from a delegated administrator (step 3 cannot cover it).
exclude_all_but() {
    if [ "$call_as" = SELF ]; then
        { cat "$1"; echo "$management"; } | one_per_line >build/covered-accounts.txt
    else
        one_per_line <"$1" | { grep -vx "$management" || true; } >build/covered-accounts.txt
    fi
    active_accounts | comm -23 - build/covered-accounts.txt >build/excluded-accounts.txt
    excluded_count=$(wc -l <build/excluded-accounts.txt | tr -d ' ')
    [ "$excluded_count" -le "$excluded_max" ] ||
        fail "$excluded_count accounts $2, more than the $excluded_max a conformance pack can exclude. Target a root or fewer, larger OUs."
}

if aws cloudformation describe-stack-set --stack-set-name "$STACK_SET_NAME" \
    --call-as "$call_as" >/dev/null 2>&1; then
    stack_set_exists=true
else
    stack_set_exists=false
fi

# Refuse before deploying anything if even the target OUs' accounts and the
# existing instances leave too many accounts out of the pack.
# shellcheck disable=SC2046 # one word per OU ID
accounts_under $(echo "$ORG_UNIT_IDS" | tr ',' ' ') | one_per_line >build/targeted-accounts.txt
if [ "$stack_set_exists" = true ]; then
    instance_accounts >>build/targeted-accounts.txt
fi
exclude_all_but build/targeted-accounts.txt "lie outside ORG_UNIT_IDS and the StackSet's instances"

"$python" -m deploy.build --out build --account-id "$management" --region "$REGION" \
    --partition "$partition" >/dev/null

aws cloudformation package --template-file build/stackset.yaml \
    --s3-bucket "$ARTIFACT_BUCKET" --output-template-file build/stackset.packaged.yaml

# One StackSet operation at a time: each is waited for before the next.
wait_for_operation() {
    echo "waiting for StackSet operation $1"
    while :; do
        status=$(aws cloudformation describe-stack-set-operation --stack-set-name "$STACK_SET_NAME" \
            --operation-id "$1" --call-as "$call_as" \
            --query StackSetOperation.Status --output text)
        case "$status" in
        SUCCEEDED) break ;;
        FAILED | STOPPED)
            echo "StackSet operation $1 ended $status: see" \
                "'aws cloudformation list-stack-set-operation-results --stack-set-name $STACK_SET_NAME --operation-id $1 --call-as $call_as'" >&2
            exit 1 ;;
        *) sleep "${POLL_SECONDS:-15}" ;;
        esac
    done
}

if [ "$stack_set_exists" = true ]; then
    operation=$(aws cloudformation update-stack-set --stack-set-name "$STACK_SET_NAME" \
        --template-body file://build/stackset.packaged.yaml --capabilities CAPABILITY_NAMED_IAM \
        --call-as "$call_as" --query OperationId --output text)
    wait_for_operation "$operation"
else
    aws cloudformation create-stack-set --stack-set-name "$STACK_SET_NAME" \
        --template-body file://build/stackset.packaged.yaml --capabilities CAPABILITY_NAMED_IAM \
        --permission-model SERVICE_MANAGED \
        --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false --call-as "$call_as"
fi
# On every run, not only the first: OUs added to ORG_UNIT_IDS since get their
# instances; those already deployed are left as they are.
operation=$(aws cloudformation create-stack-instances --stack-set-name "$STACK_SET_NAME" \
    --deployment-targets "OrganizationalUnitIds=$ORG_UNIT_IDS" --regions "$REGION" \
    --operation-preferences FailureTolerancePercentage=0,MaxConcurrentPercentage=25 \
    --call-as "$call_as" --query OperationId --output text)
wait_for_operation "$operation"

if [ "$call_as" = SELF ]; then
    aws cloudformation deploy --template-file build/stackset.packaged.yaml \
        --stack-name "$STACK_NAME" --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset
else
    echo "the management account $management is left out of the pack: the StackSet cannot" \
        "deploy there; run 'make deploy-org' from it to include it"
fi

# The pack's rule needs the Lambdas: only the accounts with the stack get it.
instance_accounts >build/instance-accounts.txt
exclude_all_but build/instance-accounts.txt "have no stack instance of $STACK_SET_NAME in $REGION"
excluded_json="[$(sed 's/.*/"&"/' build/excluded-accounts.txt | paste -sd, -)]"
echo "excluding $excluded_count accounts without a stack instance of $STACK_SET_NAME in $REGION from the pack"
aws configservice put-organization-conformance-pack \
    --organization-conformance-pack-name "$PACK_NAME" \
    --template-body file://build/conformance-pack.yaml --excluded-accounts "$excluded_json"
echo "organization conformance pack $PACK_NAME requested in $REGION; follow it with" \
    "'aws configservice describe-organization-conformance-pack-statuses --region $REGION'"
