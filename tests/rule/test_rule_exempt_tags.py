"""Scenarios 26 and 27: ExemptUserTags makes tagged users NOT_APPLICABLE, decided from the
configuration item's tags on a change and from GetAccountAuthorizationDetails' Tags on the
sweep; and the parameter's parsing (key or key=value, IAM's tag alphabet and lengths)."""

from __future__ import annotations

import json

import pytest
from IAM_USER_NO_DIRECT_POLICIES import RuleInvocationError, lambda_handler

from no_direct_policies.compliance import (
    NON_COMPLIANT,
    NOT_APPLICABLE,
    ExemptTag,
    RuleOptions,
    UserPolicies,
    decide,
    parse_exempt_user_tags,
    parse_rule_parameters,
    user_tags,
)
from tests.rule.rule_fixtures import (
    SCHEDULED_TIME,
    evaluation,
    expect_authorization_pages,
    expect_previous_evaluations,
    expect_put_evaluations,
    load_event,
    user_detail,
)

DEPLOY_BOT = "AIDAXTFQ7RK2M4ZN8WPLE"
TWO_POLICIES = (
    "2 managed policies attached directly: AmazonS3FullAccess, ReadOnlyAccess. "
    "Attach them to a group and add the user to it."
)
READ_ONLY = [
    {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
]
ONE_POLICY = (
    "1 managed policy attached directly: ReadOnlyAccess. "
    "Attach it to a group and add the user to it."
)


def _tagged_annotation(tag: str, entry: str) -> str:
    return (
        f"User deploy-bot is exempt: its tag {tag} matches {entry}, "
        "listed in the rule parameter ExemptUserTags."
    )


@pytest.mark.parametrize(
    ("exempt", "compliance", "annotation"),
    [
        (
            "ManagedBy=terraform, ManagedBy=cloudformation",
            NOT_APPLICABLE,
            _tagged_annotation("ManagedBy=terraform", "ManagedBy=terraform"),
        ),
        ("managedby", NOT_APPLICABLE, _tagged_annotation("ManagedBy=terraform", "managedby")),
        ("ManagedBy=Terraform", NON_COMPLIANT, TWO_POLICIES),
        ("Owner", NON_COMPLIANT, TWO_POLICIES),
        ("", NON_COMPLIANT, TWO_POLICIES),
    ],
    ids=["key=value", "key-any-case", "value-other-case", "other-key", "unset"],
)
def test_scenario_26_change_of_a_tagged_user(rule_clients, exempt, compliance, annotation):
    expected = evaluation(DEPLOY_BOT, compliance, annotation)
    expect_put_evaluations(rule_clients.config_stubber, [expected])

    event = load_event("change_user_exempt_tag", {"ExemptUserTags": exempt})

    assert lambda_handler(event, None) == [expected]
    assert rule_clients.built == ["config"]  # no IAM call: the tags are in the item


@pytest.mark.parametrize("where", ["item", "configuration"])
def test_scenario_26_tags_in_either_place_of_the_item_count(rule_clients, where):
    event = load_event("change_user_exempt_tag")
    invoking_event = json.loads(event["invokingEvent"])
    item = invoking_event["configurationItem"]
    if where == "item":
        item["configuration"]["tags"] = None
    else:
        del item["tags"]
    event["invokingEvent"] = json.dumps(invoking_event)
    annotation = _tagged_annotation("ManagedBy=terraform", "ManagedBy=terraform")
    expected = evaluation(DEPLOY_BOT, NOT_APPLICABLE, annotation)
    expect_put_evaluations(rule_clients.config_stubber, [expected])

    assert lambda_handler(event, None) == [expected]


def test_scenario_26_bad_exempt_user_tags_fails_the_invocation(rule_clients):
    event = load_event("change_user_exempt_tag", {"ExemptUserTags": "ManagedBy=terraform;cdk"})

    with pytest.raises(RuleInvocationError, match="ExemptUserTags holds 'ManagedBy=terraform;cdk'"):
        lambda_handler(event, None)


def test_scenario_27_sweep_reads_the_tags_it_already_has(rule_clients, iam_stub):
    tagged = user_detail(1, READ_ONLY)
    tagged["Tags"] = [{"Key": "ManagedBy", "Value": "cloudformation"}]
    other_value = user_detail(2, READ_ONLY)
    other_value["Tags"] = [{"Key": "ManagedBy", "Value": "console"}]
    untagged = user_detail(3, READ_ONLY)
    rule_clients.use_iam(iam_stub.client)
    expect_authorization_pages(iam_stub, [tagged, other_value, untagged])
    exempt = (
        "User user-00001 is exempt: its tag ManagedBy=cloudformation matches "
        "ManagedBy=cloudformation, listed in the rule parameter ExemptUserTags."
    )
    expected = [
        evaluation(tagged["UserId"], NOT_APPLICABLE, exempt, SCHEDULED_TIME),
        evaluation(other_value["UserId"], NON_COMPLIANT, ONE_POLICY, SCHEDULED_TIME),
        evaluation(untagged["UserId"], NON_COMPLIANT, ONE_POLICY, SCHEDULED_TIME),
    ]
    expect_previous_evaluations(rule_clients.config_stubber, [[]])
    expect_put_evaluations(rule_clients.config_stubber, expected)

    event = load_event(
        "scheduled", {"ExemptUserTags": "ManagedBy=terraform,ManagedBy=cloudformation"}
    )

    assert lambda_handler(event, None) == expected
    assert [name for name, _ in rule_clients.iam_calls] == ["GetAccountAuthorizationDetails"]


def test_scenario_27_sweep_with_moto_tags(rule_clients, iam):
    bot = iam.create_user(UserName="deploy-bot", Tags=[{"Key": "ManagedBy", "Value": "terraform"}])
    iam.attach_user_policy(UserName="deploy-bot", PolicyArn=READ_ONLY[0]["PolicyArn"])
    expected = [
        evaluation(
            bot["User"]["UserId"],
            NOT_APPLICABLE,
            _tagged_annotation("ManagedBy=terraform", "ManagedBy"),
            SCHEDULED_TIME,
        )
    ]
    expect_previous_evaluations(rule_clients.config_stubber, [[]])
    expect_put_evaluations(rule_clients.config_stubber, expected)

    assert lambda_handler(load_event("scheduled", {"ExemptUserTags": "ManagedBy"}), None) == (
        expected
    )


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("", ()),
        (" ManagedBy ", (ExemptTag("ManagedBy"),)),
        ("ManagedBy = terraform ,", (ExemptTag("ManagedBy", "terraform"),)),
        ("team=", (ExemptTag("team", ""),)),
        ("k=a=b", (ExemptTag("k", "a=b"),)),
        (
            "Équipe=Données 1, a:b/c+d-e@f_g.h",
            (ExemptTag("Équipe", "Données 1"), ExemptTag("a:b/c+d-e@f_g.h")),
        ),
        ("x,x", (ExemptTag("x"),)),
        ("k" * 128 + "=" + "v" * 256, (ExemptTag("k" * 128, "v" * 256),)),
    ],
)
def test_exempt_user_tags_parsing(value, parsed):
    assert parse_exempt_user_tags(value) == parsed
    assert parse_rule_parameters({"ExemptUserTags": value}).exempt_user_tags == parsed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Team#ops", "holds 'Team#ops', whose key 'Team#ops' is not an IAM tag key"),
        ("=terraform", "holds '=terraform', whose key '' is not an IAM tag key"),
        ("k" * 129, "is not an IAM tag key (1-128 letters"),
        ("k=" + "v" * 257, "is not an IAM tag value (0-256 letters"),
        ("k=a;b", "whose value 'a;b' is not an IAM tag value"),
    ],
)
def test_exempt_user_tags_errors_name_the_value_and_the_fix(value, message):
    with pytest.raises(ValueError, match="Rule parameter ExemptUserTags") as raised:
        parse_rule_parameters({"ExemptUserTags": value})

    assert message in str(raised.value)
    assert "Fix the value of ExemptUserTags: comma-separated items, each a tag key" in str(
        raised.value
    )


def test_user_tags_accepts_every_shape_and_merges():
    assert user_tags({"b": "2"}, [{"key": "a", "value": "1"}], [{"Key": "b", "Value": "2"}]) == (
        ("a", "1"),
        ("b", "2"),
    )
    assert user_tags(None, []) == ()


def test_the_change_item_and_the_sweep_give_the_same_tags():
    item = json.loads(load_event("change_user_exempt_tag")["invokingEvent"])["configurationItem"]
    from_item = UserPolicies.from_configuration_item(item)
    detail = {
        "UserName": "deploy-bot",
        "UserId": DEPLOY_BOT,
        "Path": "/",
        "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "ManagedBy", "Value": "terraform"}],
    }

    assert from_item.tags == UserPolicies.from_authorization_details(detail).tags


def test_name_and_path_exemptions_are_named_before_tags():
    user = UserPolicies("ops", "AIDA1", "/", tags=(("ManagedBy", "terraform"),))
    options = RuleOptions(
        exempt_user_names=frozenset({"ops"}), exempt_user_tags=(ExemptTag("ManagedBy"),)
    )

    assert "ExemptUserNames" in decide(user, options).annotation


def test_long_tags_keep_the_annotation_within_256_characters():
    key, value = "k" * 128, "v" * 256
    user = UserPolicies("u" * 64, "AIDA1", "/", tags=((key, value),))
    verdict = decide(user, RuleOptions(exempt_user_tags=(ExemptTag(key, value),)))

    assert verdict.compliance_type == NOT_APPLICABLE
    assert len(verdict.annotation) <= 256
    assert verdict.annotation.endswith("listed in the rule parameter ExemptUserTags.")
