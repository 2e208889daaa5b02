"""The pure decision module: parameter parsing, the two user constructors, the
annotation's limits and the paginated account sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from no_direct_policies.compliance import (
    ANNOTATION_LIMIT,
    AttachedPolicy,
    RuleOptions,
    UserPolicies,
    Verdict,
    decide,
    iter_account_users,
    non_compliant_annotation,
    parse_policy_arns,
    parse_rule_parameters,
)
from tests.rule.rule_fixtures import (
    configuration_item,
    expect_authorization_pages,
    load_event,
    user_detail,
)

PARAMETERS_JSON = Path(__file__).resolve().parents[2] / "parameters.json"
READ_ONLY = AttachedPolicy("ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess")


def make_user(path: str = "/", attached=(), inline=()) -> UserPolicies:
    return UserPolicies("alice", "AIDAJQABLZS4A3QDU576Q", path, tuple(attached), tuple(inline))


def test_declared_defaults_parse_to_the_default_options():
    rule = json.loads(PARAMETERS_JSON.read_text())["Parameters"]
    declared = json.loads(rule["OptionalParameters"])
    assert parse_rule_parameters(declared) == RuleOptions()
    assert parse_rule_parameters({}) == RuleOptions()


def test_parameters_are_split_trimmed_and_parsed():
    options = parse_rule_parameters(
        {
            "ExemptUserNames": " breakglass-admin ,ops.emergency@corp,",
            "ExemptUserPathPrefixes": "/breakglass/, /service/accounts/",
            "ExemptPolicyArns": (
                "arn:aws:iam::aws:policy/IAMUserChangePassword,"
                "arn:aws:iam::aws:policy/service-role/AWSConfigRole,"
                "arn:aws-cn:iam::123456789012:policy/team/ReadReports"
            ),
            "CheckInlinePolicies": "TRUE",
            "AssumeRoleMode": "false",
        }
    )
    assert options == RuleOptions(
        exempt_user_names=frozenset({"breakglass-admin", "ops.emergency@corp"}),
        exempt_path_prefixes=("/breakglass/", "/service/accounts/"),
        exempt_policy_arns=frozenset(
            {
                "arn:aws:iam::aws:policy/IAMUserChangePassword",
                "arn:aws:iam::aws:policy/service-role/AWSConfigRole",
                "arn:aws-cn:iam::123456789012:policy/team/ReadReports",
            }
        ),
        check_inline_policies=True,
    )


def test_parse_policy_arns_names_the_callers_parameter():
    with pytest.raises(ValueError, match=r"^Rule parameter ExemptArns holds 'arn:aws:s3:::b'"):
        parse_policy_arns("arn:aws:s3:::b", parameter="ExemptArns")
    assert parse_policy_arns("") == frozenset()


def test_configuration_item_becomes_user_policies():
    item = configuration_item(load_event("change_user_inline_checked"))
    item["configuration"]["attachedManagedPolicies"] = [
        {"policyName": "ReadOnlyAccess", "policyArn": READ_ONLY.arn}
    ]
    assert UserPolicies.from_configuration_item(item) == UserPolicies(
        user_name="heidi",
        user_id="AIDA9RGT5KLM3PQZ8XW2C",
        path="/",
        attached_policies=(READ_ONLY,),
        inline_policy_names=("s3-reports-read", "ssm-session"),
    )


def test_configuration_item_without_configuration_is_refused():
    item = configuration_item(load_event("change_user_deleted"))
    with pytest.raises(ValueError, match=r"'AIDA3ZXC8VBN5MLK2JHG4' has no 'configuration'"):
        UserPolicies.from_configuration_item(item)


def test_authorization_details_entry_becomes_user_policies():
    detail = user_detail(7, [{"PolicyName": READ_ONLY.name, "PolicyArn": READ_ONLY.arn}])
    detail["Path"] = "/team/"
    detail["UserPolicyList"] = [{"PolicyName": "inline-one", "PolicyDocument": "{}"}]
    assert UserPolicies.from_authorization_details(detail) == UserPolicies(
        user_name="user-00007",
        user_id="AIDA00000000000000007",
        path="/team/",
        attached_policies=(READ_ONLY,),
        inline_policy_names=("inline-one",),
    )


def test_user_name_exemption_wins_over_path_exemption():
    options = RuleOptions(
        exempt_user_names=frozenset({"alice"}), exempt_path_prefixes=("/breakglass/",)
    )
    verdict = decide(make_user("/breakglass/", [READ_ONLY]), options)
    assert verdict == Verdict(
        "NOT_APPLICABLE", "User alice is exempt: listed in the rule parameter ExemptUserNames."
    )


def test_user_name_exemption_ignores_case_as_iam_does():
    options = RuleOptions(exempt_user_names=frozenset({"ALICE"}))
    verdict = decide(make_user(attached=[READ_ONLY]), options)
    assert verdict == Verdict(
        "NOT_APPLICABLE", "User alice is exempt: listed in the rule parameter ExemptUserNames."
    )


def test_path_exemption_annotation_stays_within_limit_for_long_paths():
    prefix = "/" + "p" * 300 + "/"
    verdict = decide(make_user(prefix + "x/"), RuleOptions(exempt_path_prefixes=(prefix,)))
    assert verdict == Verdict(
        "NOT_APPLICABLE",
        f"User path ... is exempt: it starts with {prefix[:117]}..., "
        "listed in the rule parameter ExemptUserPathPrefixes.",
    )
    assert len(verdict.annotation) <= ANNOTATION_LIMIT


def test_prefix_matches_only_whole_leading_path():
    options = RuleOptions(exempt_path_prefixes=("/breakglass/",))
    verdict = decide(make_user("/breakglass-not/", [READ_ONLY]), options)
    assert verdict.compliance_type == "NON_COMPLIANT"


def test_inline_and_managed_are_both_named_with_a_move_advice():
    verdict = decide(
        make_user(attached=[READ_ONLY], inline=["ssm-session"]),
        RuleOptions(check_inline_policies=True),
    )
    assert verdict == Verdict(
        "NON_COMPLIANT",
        "1 managed policy attached directly: ReadOnlyAccess; 1 inline policy on the user: "
        "ssm-session. Move them to a group and add the user to it.",
    )


def test_one_inline_policy_gets_a_singular_annotation():
    verdict = decide(make_user(inline=["ssm-session"]), RuleOptions(check_inline_policies=True))
    assert verdict == Verdict(
        "NON_COMPLIANT",
        "1 inline policy on the user: ssm-session. Move it to a group and add the user to it.",
    )


def test_only_exempt_policies_with_inline_check_says_so():
    exempt = "arn:aws:iam::aws:policy/IAMUserChangePassword"
    user = make_user(attached=[AttachedPolicy("IAMUserChangePassword", exempt)])
    options = RuleOptions(exempt_policy_arns=frozenset({exempt}), check_inline_policies=True)
    assert decide(user, options) == Verdict(
        "COMPLIANT",
        "No managed or inline policies directly on the user other than those listed in "
        "ExemptPolicyArns.",
    )


def test_no_policies_with_inline_check_says_so():
    assert decide(make_user(), RuleOptions(check_inline_policies=True)) == Verdict(
        "COMPLIANT", "No managed or inline policies directly on the user."
    )


def test_annotation_cuts_the_longer_list_first():
    managed = [f"ManagedPolicyWithAFairlyLongName{n:02d}" for n in range(20)]
    inline = ["inline-a", "inline-b"]
    assert non_compliant_annotation(managed, inline) == (
        "20 managed policies attached directly: ManagedPolicyWithAFairlyLongName00, "
        "ManagedPolicyWithAFairlyLongName01, ... and 18 more; 2 inline policies on the user: "
        "inline-a, inline-b. Move them to a group and add the user to it."
    )


@pytest.mark.parametrize("length", [1, 60, 128])
def test_annotation_never_exceeds_256_characters(length):
    managed = [("M" * length)[:-2] + f"{n:02d}" for n in range(20)]
    inline = [("I" * length)[:-2] + f"{n:02d}" for n in range(30)]
    annotation = non_compliant_annotation(managed, inline)
    assert len(annotation) <= ANNOTATION_LIMIT
    assert annotation.startswith("20 managed policies attached directly: ")
    assert "more" in annotation


def test_annotation_that_fits_is_not_cut():
    names = ["P" * 50, "Q" * 50, "R" * 50]
    annotation = non_compliant_annotation(names)
    assert annotation == (
        f"3 managed policies attached directly: {names[0]}, {names[1]}, {names[2]}. "
        "Attach them to a group and add the user to it."
    )


def test_account_sweep_pages_with_marker_and_reports_progress(iam_stub):
    details = [user_detail(n) for n in range(2001)]
    calls = expect_authorization_pages(iam_stub, details)
    progress: list[int] = []

    users = list(iter_account_users(iam_stub.client, on_page=progress.append))

    assert calls == 3
    assert progress == [1000, 2000, 2001]
    assert [user.user_id for user in users] == [detail["UserId"] for detail in details]


def test_account_sweep_of_an_empty_account_makes_one_call(iam_stub):
    expect_authorization_pages(iam_stub, [])
    progress: list[int] = []
    assert list(iter_account_users(iam_stub.client, on_page=progress.append)) == []
    assert progress == [0]


def test_account_sweep_reads_real_shapes_from_moto(iam):
    iam.create_user(UserName="alice", Path="/team/")
    iam.attach_user_policy(UserName="alice", PolicyArn=READ_ONLY.arn)
    user_id = iam.get_user(UserName="alice")["User"]["UserId"]

    assert list(iter_account_users(iam)) == [
        UserPolicies("alice", user_id, "/team/", (READ_ONLY,), ())
    ]
