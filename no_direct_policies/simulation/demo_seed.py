"""The situation ``make demo`` starts from, and what it must end as.

The seed's own case (John, David and Mark with ``AmazonS3FullAccess``
attached directly) plus the cases a real account has: users that already
comply, a break-glass user the rule exempts by name, an exempt policy that
must stay on its user, two users sharing a policy set, and one user with more
policies than one group can hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AWS_POLICY = "arn:aws:iam::aws:policy/"
S3_FULL_ACCESS = AWS_POLICY + "AmazonS3FullAccess"
CHANGE_PASSWORD = AWS_POLICY + "IAMUserChangePassword"
BREAK_GLASS_USER = "breakglass-admin"
# Passed as Config passes the rule's parameters; the remediation gets the same exempt ARNs.
RULE_PARAMETERS = {"ExemptUserNames": BREAK_GLASS_USER, "ExemptPolicyArns": CHANGE_PASSWORD}
# The remediation configuration passes the same exempt policies to the SSM document.
REMEDIATION_PARAMETERS = {"ExemptPolicyArns": CHANGE_PASSWORD}
EXISTING_GROUP = "developers"
_OPS_POLICIES = (
    "AmazonEC2FullAccess",
    "AmazonRDSFullAccess",
    "AmazonDynamoDBFullAccess",
    "AmazonSQSFullAccess",
    "AmazonSNSFullAccess",
    "CloudWatchFullAccess",
    "AWSLambda_FullAccess",
    "AmazonVPCFullAccess",
    "AmazonRoute53FullAccess",
    "AWSCloudFormationFullAccess",
    "AmazonElastiCacheFullAccess",
    "AmazonKinesisFullAccess",
)


@dataclass(frozen=True)
class SeedUser:
    """One user of the seed: policies attached directly and groups it starts in."""

    name: str
    attached: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    note: str = ""
    path: str = "/"


SEED_USERS = (
    SeedUser("john", (S3_FULL_ACCESS,), note="the seed's case"),
    SeedUser("david", (S3_FULL_ACCESS,), note="the seed's case"),
    SeedUser("mark", (S3_FULL_ACCESS, CHANGE_PASSWORD), note="the seed's case + an exempt policy"),
    SeedUser(
        "priya",
        (AWS_POLICY + "AmazonEC2ReadOnlyAccess", AWS_POLICY + "CloudWatchReadOnlyAccess"),
        note="shares a policy set with tom",
    ),
    SeedUser(
        "tom",
        (AWS_POLICY + "AmazonEC2ReadOnlyAccess", AWS_POLICY + "CloudWatchReadOnlyAccess"),
        note="shares a policy set with priya",
    ),
    SeedUser(
        "ops-automation",
        tuple(AWS_POLICY + name for name in _OPS_POLICIES),
        note="12 policies: more than one group can hold",
    ),
    SeedUser("alice", groups=(EXISTING_GROUP,), note="already compliant (group member)"),
    SeedUser("bob", (CHANGE_PASSWORD,), note="only an exempt policy"),
    SeedUser(BREAK_GLASS_USER, (AWS_POLICY + "AdministratorAccess",), note="exempt by name"),
)


def build_seed(iam: Any) -> None:
    """Create the seed's group and users in the (simulated) account."""
    iam.create_group(GroupName=EXISTING_GROUP)
    iam.attach_group_policy(GroupName=EXISTING_GROUP, PolicyArn=AWS_POLICY + "ReadOnlyAccess")
    for user in SEED_USERS:
        iam.create_user(UserName=user.name, Path=user.path)
        for arn in user.attached:
            iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
        for group in user.groups:
            iam.add_user_to_group(GroupName=group, UserName=user.name)


def effective_policies(iam: Any, user_name: str) -> set[str]:
    """Managed policy ARNs that reach the user, directly or through its groups."""
    arns = {
        policy["PolicyArn"]
        for policy in iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]
    }
    for group in iam.list_groups_for_user(UserName=user_name)["Groups"]:
        attached = iam.list_attached_group_policies(GroupName=group["GroupName"])
        arns.update(policy["PolicyArn"] for policy in attached["AttachedPolicies"])
    return arns


def end_state_problems(
    iam: Any, before: Mapping[str, set[str]], dashboard: Mapping[str, str]
) -> list[str]:
    """Every way the account differs from the right end state (empty when it is right).

    ``before`` is each user's effective policies at the start; ``dashboard`` each
    user's compliance type after the second evaluation.
    """
    problems = []
    for user in SEED_USERS:
        expected_type = "NOT_APPLICABLE" if user.name == BREAK_GLASS_USER else "COMPLIANT"
        if dashboard.get(user.name) != expected_type:
            problems.append(f"{user.name} is {dashboard.get(user.name)}, expected {expected_type}")
        after = effective_policies(iam, user.name)
        if after != before[user.name]:
            lost, gained = before[user.name] - after, after - before[user.name]
            problems.append(f"{user.name}: policies lost {sorted(lost)}, gained {sorted(gained)}")
        direct = {
            policy["PolicyArn"]
            for policy in iam.list_attached_user_policies(UserName=user.name)["AttachedPolicies"]
        }
        allowed = set(user.attached) if user.name == BREAK_GLASS_USER else {CHANGE_PASSWORD}
        if not direct <= allowed:
            problems.append(f"{user.name} still has {sorted(direct - allowed)} attached directly")
    problems += _grouping_problems(iam)
    return problems


def _groups_of(iam: Any, user_name: str) -> set[str]:
    return {group["GroupName"] for group in iam.list_groups_for_user(UserName=user_name)["Groups"]}


def _grouping_problems(iam: Any) -> list[str]:
    problems = []
    quota = iam.get_account_summary()["SummaryMap"]["AttachedPoliciesPerGroupQuota"]
    for group in iam.list_groups()["Groups"]:
        count = len(
            iam.list_attached_group_policies(GroupName=group["GroupName"])["AttachedPolicies"]
        )
        if count > quota:
            problems.append(f"group {group['GroupName']} holds {count} policies (quota {quota})")
    if not _groups_of(iam, "john") == _groups_of(iam, "david") == _groups_of(iam, "mark"):
        problems.append("john, david and mark do not share their group")
    if _groups_of(iam, "priya") != _groups_of(iam, "tom"):
        problems.append("priya and tom do not share their group")
    if len(_groups_of(iam, "ops-automation")) < 2:
        problems.append("ops-automation's 12 policies were not split across groups")
    if _groups_of(iam, BREAK_GLASS_USER):
        problems.append(f"{BREAK_GLASS_USER} was touched: it is in a group")
    return problems
