"""The pure planner alone: ordering, naming, splitting, reuse and quota rules, without IAM."""

from __future__ import annotations

import re

import pytest

from no_direct_policies.move.plan import (
    GroupState,
    InlinePolicy,
    MoveOptions,
    Quotas,
    RemediationRefused,
    UserState,
    check_group,
    group_name,
    group_specs,
    plan_move,
    required_group_specs,
)

ARNS = [f"arn:aws:iam::aws:policy/Policy{i:02d}" for i in range(25)]
QUOTAS = Quotas(
    attached_policies_per_group=10, groups_per_user=10, groups_quota=300, groups_in_account=0
)
OPTIONS = MoveOptions()
ADDING = {"CreateGroup", "AttachGroupPolicy", "PutGroupPolicy", "AddUserToGroup"}
REMOVING = {"DetachUserPolicy", "DeleteUserPolicy"}
INLINE = InlinePolicy.from_document("s3-list", {"Version": "2012-10-17", "Statement": []})


def _plan(user: UserState, quotas: Quotas = QUOTAS, existing: dict | None = None, **options):
    move = MoveOptions(**options)
    specs = required_group_specs(user, move, quotas)
    return plan_move(user, move, quotas, {s.name: (existing or {}).get(s.name) for s in specs})


@pytest.mark.parametrize("count", [1, 10, 11, 25])
def test_every_adding_action_comes_before_every_removing_action(count):
    plan = _plan(UserState("u", "AIDA1", tuple(ARNS[:count]), (INLINE,)), move_inline_policies=True)

    kinds = [action["Action"] for action in plan.actions]
    first_removal = min(i for i, kind in enumerate(kinds) if kind in REMOVING)
    assert set(kinds[:first_removal]) <= ADDING
    assert set(kinds[first_removal:]) <= REMOVING
    assert kinds.count("DetachUserPolicy") == count
    assert kinds.count("DeleteUserPolicy") == 1


def test_group_name_depends_only_on_the_policy_set_and_is_a_valid_iam_name():
    name = group_name("MovedPolicies-", ARNS[:10], [])

    assert name == group_name("MovedPolicies-", list(reversed(ARNS[:10])), [])
    assert name != group_name("MovedPolicies-", ARNS[:9], [])
    assert name != group_name("MovedPolicies-", ARNS[:10], [INLINE])
    assert len(name) <= 128
    assert re.fullmatch(r"[\w+=,.@-]+", name)
    assert name.startswith("MovedPolicies-Policy00+Policy01+")


def test_split_is_deterministic_in_arn_order_whatever_order_the_user_has():
    forward = group_specs(ARNS, [], OPTIONS, 10)
    backward = group_specs(list(reversed(ARNS)), [], OPTIONS, 10)

    assert forward == backward
    assert [spec.policy_arns for spec in forward] == [
        tuple(ARNS[0:10]),
        tuple(ARNS[10:20]),
        tuple(ARNS[20:25]),
    ]


def test_inline_policies_go_to_the_first_group_only():
    specs = group_specs(ARNS[:11], [INLINE], OPTIONS, 10)

    assert [spec.inline_policies for spec in specs] == [(INLINE,), ()]


def test_exempt_and_group_covered_policies_get_no_new_group():
    covering = GroupState("Storage", "/", frozenset({ARNS[1]}))
    user = UserState("u", "AIDA1", (ARNS[0], ARNS[1], ARNS[2]), groups=(covering,))

    plan = _plan(user, exempt_policy_arns=frozenset({ARNS[0]}))

    assert [spec.policy_arns for spec in plan.new_groups] == [(ARNS[2],)]
    assert plan.moved_policy_arns == (ARNS[1], ARNS[2])
    assert plan.groups == (plan.new_groups[0].name, "Storage")


def test_user_with_only_exempt_policies_has_an_empty_plan():
    plan = _plan(UserState("u", "AIDA1", (ARNS[0],)), exempt_policy_arns=frozenset({ARNS[0]}))

    assert (plan.actions, plan.groups) == ([], ())


def _spec():
    return group_specs(ARNS[:2], [], OPTIONS, 10)[0]


def test_memberless_partial_group_is_completed_with_only_the_missing_policies():
    spec = _spec()
    partial = GroupState(spec.name, spec.path, frozenset({ARNS[0]}))

    plan = _plan(UserState("u", "AIDA1", tuple(ARNS[:2])), existing={spec.name: partial})

    assert plan.setup_actions == (
        {"Action": "AttachGroupPolicy", "GroupName": spec.name, "PolicyArn": ARNS[1]},
        {"Action": "AddUserToGroup", "GroupName": spec.name, "UserName": "u"},
    )


def test_exact_group_with_members_is_reused():
    spec = _spec()
    exact = GroupState(spec.name, spec.path, frozenset(ARNS[:2]), frozenset(), frozenset({"x"}))

    plan = _plan(UserState("u", "AIDA1", tuple(ARNS[:2])), existing={spec.name: exact})

    # No CreateGroup, nothing attached to the group: the user joins it, then loses the policies.
    assert plan.setup_actions == (
        {"Action": "AddUserToGroup", "GroupName": spec.name, "UserName": "u"},
    )
    assert plan.removal_actions == tuple(
        {"Action": "DetachUserPolicy", "UserName": "u", "PolicyArn": arn} for arn in ARNS[:2]
    )
    assert (plan.groups, plan.moved_policy_arns) == ((spec.name,), tuple(ARNS[:2]))


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (
            GroupState(
                "g", "/config-remediation/", frozenset(ARNS[:1]), frozenset(), frozenset({"x"})
            ),
            "holds only part of the set and already has members \\(x\\)",
        ),
        (GroupState("g", "/config-remediation/", frozenset(ARNS[:3])), "other managed policies"),
        (
            GroupState("g", "/config-remediation/", frozenset(ARNS[:2]), frozenset({INLINE})),
            "other inline policies: s3-list",
        ),
        (GroupState("g", "/admins/", frozenset(ARNS[:2])), "its path is /admins/"),
    ],
    ids=["partial-with-members", "superset", "inline", "other-path"],
)
def test_mismatching_group_is_refused(state, reason):
    with pytest.raises(RemediationRefused, match=reason):
        check_group(_spec(), state)


@pytest.mark.parametrize(("in_groups", "refused"), [(9, False), (10, True)])
def test_groups_per_user_quota(in_groups, refused):
    groups = tuple(GroupState(f"g{i}", "/", frozenset()) for i in range(in_groups))
    user = UserState("u", "AIDA1", (ARNS[0],), groups=groups)

    if refused:
        with pytest.raises(RemediationRefused, match="over GroupsPerUserQuota \\(10\\)"):
            _plan(user)
    else:
        assert _plan(user).setup_actions[-1]["Action"] == "AddUserToGroup"


def test_groups_quota_counts_only_groups_that_must_be_created_and_the_run_lock():
    # 5 groups and a quota of 6: room for the run lock's group, not for one more.
    full = Quotas(10, 10, groups_quota=6, groups_in_account=5)
    user = UserState("u", "AIDA1", tuple(ARNS[:11]))
    specs = required_group_specs(user, OPTIONS, full)
    first = GroupState(specs[0].name, specs[0].path, frozenset(specs[0].policy_arns))

    with pytest.raises(
        RemediationRefused,
        match=r"would create 1 more, plus its run lock group while it runs, over GroupsQuota \(6\)",
    ):
        _plan(user, full, existing={specs[0].name: first})
    both = {s.name: GroupState(s.name, s.path, frozenset(s.policy_arns)) for s in specs}
    assert [a["Action"] for a in _plan(user, full, existing=both).setup_actions] == [
        "AddUserToGroup",
        "AddUserToGroup",
    ]


def test_zero_policies_per_group_is_refused_clearly():
    with pytest.raises(RemediationRefused, match="AttachedPoliciesPerGroupQuota is 0"):
        group_specs(ARNS[:1], [], OPTIONS, 0)


def test_inline_document_copy_is_no_longer_than_the_users_compact_document():
    # IAM counts an inline document's characters against the group's quota; escaping
    # non-ASCII text would multiply its length, so the copy keeps the text as it is.
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/équipe": "Équipe-données"}},
            }
        ],
    }
    policy = InlinePolicy.from_document("team-objects", document)

    assert policy.document == (
        '{"Statement":[{"Action":"s3:GetObject","Condition":{"StringEquals":'
        '{"aws:PrincipalTag/équipe":"Équipe-données"}},"Effect":"Allow","Resource":"*"}],'
        '"Version":"2012-10-17"}'
    )
