"""The compliance decision for one IAM user, free of rdklib and of any AWS call.

The rule Lambda, the remediation helper and the command line all import this
module, so "which policies sit directly on a user, and is that allowed" has a
single home. It parses the rule's string parameters, builds a ``UserPolicies``
from either a Config configuration item or a GetAccountAuthorizationDetails
entry, and turns it into a ``Verdict`` with the annotation shown on the Config
dashboard.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_APPLICABLE = "NOT_APPLICABLE"

ANNOTATION_LIMIT = 256  # PutEvaluations rejects longer annotations
AUTHORIZATION_DETAILS_PAGE_SIZE = 1000  # the largest MaxItems IAM accepts

# Parameters rdklib reads itself (role assumption); they are accepted and ignored here.
RDKLIB_PARAMETERS = frozenset({"AssumeRoleMode", "ExecutionRoleName", "ExecutionRoleRegion"})
RULE_PARAMETERS = (
    "ExemptUserNames",
    "ExemptUserPathPrefixes",
    "ExemptPolicyArns",
    "CheckInlinePolicies",
    "ExemptUserTags",
)

# IAM's own patterns. A comma is legal in a user name but separates list items here.
# IAM's \w is ASCII only: "älice" can never be a user name, so it must not pass as one.
_USER_NAME = re.compile(r"[\w+=.@-]{1,64}", re.ASCII)
_PATH = re.compile(r"/|/[\x21-\x7e]{1,510}/")
# Every AWS partition (botocore/data/partitions.json lists the same; a test compares them).
# The one list for ARNs: the rule's parameters, the remediation helper, and the SSM
# document's allowedPattern (PARTITION_PATTERN, checked by a test) all accept exactly these.
PARTITIONS = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)
# A plain group, no (?:...), so the same text serves Python and SSM's allowedPattern.
PARTITION_PATTERN = "aws(" + "|".join(p[len("aws") :] for p in PARTITIONS[1:]) + ")?"
_POLICY_ARN = re.compile(
    "arn:" + PARTITION_PATTERN + r":iam::(?:aws|\d{12}):policy/"
    r"(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}",
    re.ASCII,
)


# IAM's tag limits: keys 1-128 and values 0-256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@].
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


class ExemptTag(NamedTuple):
    """One item of ExemptUserTags: a tag key, and the exact value or None for any value.

    IAM keeps one tag per key regardless of case (``ManagedBy`` and ``managedby`` cannot
    both be on a user) but preserves the case it was given, so keys match without
    regard to case; values are compared exactly.
    """

    key: str
    value: str | None = None

    def matches(self, key: str, value: str) -> bool:
        """Whether the user's tag ``key``/``value`` is this exemption's."""
        return key.casefold() == self.key.casefold() and self.value in (None, value)

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


@dataclass(frozen=True)
class RuleOptions:
    """The rule's parameters, validated and parsed."""

    exempt_user_names: frozenset[str] = frozenset()
    exempt_path_prefixes: tuple[str, ...] = ()
    exempt_policy_arns: frozenset[str] = frozenset()
    check_inline_policies: bool = False
    exempt_user_tags: tuple[ExemptTag, ...] = ()


class AttachedPolicy(NamedTuple):
    """A managed policy attached to a user: its name and ARN."""

    name: str
    arn: str


@dataclass(frozen=True)
class UserPolicies:
    """What the decision needs to know about one IAM user."""

    user_name: str
    user_id: str
    path: str
    attached_policies: tuple[AttachedPolicy, ...] = ()
    inline_policy_names: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()  # (key, value), sorted

    @classmethod
    def from_configuration_item(cls, configuration_item: Mapping[str, Any]) -> UserPolicies:
        """Build from an ``AWS::IAM::User`` configuration item; null or missing lists are empty."""
        configuration = configuration_item.get("configuration")
        if not isinstance(configuration, Mapping):
            raise ValueError(
                f"The configuration item of {configuration_item.get('resourceId')!r} has no "
                "'configuration' object; an AWS::IAM::User item recorded as OK always has one."
            )
        user_name = configuration.get("userName") or configuration_item["resourceName"]
        # Config records the tags twice: a map on the item, IAM's list in the configuration.
        tags = user_tags(configuration_item.get("tags"), configuration.get("tags"))
        return cls._read(
            user_name, configuration_item["resourceId"], configuration, CONFIG_KEYS, tags
        )

    @classmethod
    def from_authorization_details(cls, user_detail: Mapping[str, Any]) -> UserPolicies:
        """Build from one ``UserDetailList`` entry of GetAccountAuthorizationDetails."""
        tags = user_tags(user_detail.get("Tags"))
        return cls._read(
            user_detail["UserName"], user_detail["UserId"], user_detail, IAM_KEYS, tags
        )

    @classmethod
    def _read(
        cls,
        user_name: str,
        user_id: str,
        record: Mapping[str, Any],
        keys: Mapping[str, str],
        tags: tuple[tuple[str, str], ...],
    ) -> UserPolicies:
        # A null or missing path is the root; a null or missing list is empty.
        name, arn = keys["policy_name"], keys["policy_arn"]
        return cls(
            user_name=user_name,
            user_id=user_id,
            path=record.get(keys["path"]) or "/",
            attached_policies=tuple(
                AttachedPolicy(name=item[name], arn=item[arn])
                for item in record.get(keys["attached"]) or ()
            ),
            inline_policy_names=tuple(item[name] for item in record.get(keys["inline"]) or ()),
            tags=tags,
        )


def user_tags(*sources: Any) -> tuple[tuple[str, str], ...]:
    """A user's tags as sorted ``(key, value)`` pairs, from any of the shapes they come in:
    a map ``{key: value}``, or a list of ``{key, value}`` / ``{Key, Value}``; null is none."""
    pairs: list[tuple[str, str]] = []
    for tags in sources:
        if isinstance(tags, Mapping):
            pairs.extend((str(key), str(value)) for key, value in tags.items())
            continue
        for tag in tags or ():
            key, value = ("Key", "Value") if "Key" in tag else ("key", "value")
            pairs.append((str(tag[key]), str(tag.get(value) or "")))
    return tuple(sorted(set(pairs)))


# Where each source keeps what the decision reads: a Config configuration item's
# ``configuration`` in camelCase, GetAccountAuthorizationDetails in PascalCase.
CONFIG_KEYS = {
    "path": "path",
    "attached": "attachedManagedPolicies",
    "inline": "userPolicyList",
    "policy_name": "policyName",
    "policy_arn": "policyArn",
}
IAM_KEYS = {key: value[0].upper() + value[1:] for key, value in CONFIG_KEYS.items()}


@dataclass(frozen=True)
class Verdict:
    """The evaluation of one user: a Config compliance type and its annotation."""

    compliance_type: str
    annotation: str


def _split(value: str) -> list[str]:
    """Comma-separated items, blanks dropped (a trailing comma is harmless)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _checked_items(
    value: str, parameter: str, pattern: re.Pattern[str], expected: str
) -> list[str]:
    items = _split(value)
    for item in items:
        if not pattern.fullmatch(item):
            raise ValueError(
                f"Rule parameter {parameter} holds {item!r}, which is not {expected}. "
                f"Fix the value of {parameter} (comma-separated list)."
            )
    return items


def parse_policy_arns(value: str, parameter: str = "ExemptPolicyArns") -> frozenset[str]:
    """Parse a comma-separated list of managed policy ARNs; raise ValueError naming a bad one."""
    return frozenset(
        _checked_items(
            value,
            parameter,
            _POLICY_ARN,
            "a managed policy ARN such as arn:aws:iam::aws:policy/IAMUserChangePassword",
        )
    )


def _is_tag_text(text: str) -> bool:
    """IAM's tag characters: letters, separators (spaces), numbers and _.:/=+-@."""
    return all(unicodedata.category(char)[0] in "LZN" or char in _TAG_PUNCTUATION for char in text)


def parse_exempt_user_tags(value: str, parameter: str = "ExemptUserTags") -> tuple[ExemptTag, ...]:
    """Parse comma-separated ``key`` (any value) or ``key=value`` (that value exactly) items.

    The first ``=`` ends the key, so a value may hold ``=`` and a key cannot; spaces
    around items, keys and values are trimmed. Raises ValueError naming the bad item.
    """
    fix = (
        f"Fix the value of {parameter}: comma-separated items, each a tag key (any value) "
        "or key=value (that value exactly)."
    )
    tags = []
    for item in _split(value):
        key, equals, tag_value = (part.strip() for part in item.partition("="))
        if not 1 <= len(key) <= TAG_KEY_MAX or not _is_tag_text(key):
            raise ValueError(
                f"Rule parameter {parameter} holds {item!r}, whose key {key!r} is not an IAM "
                f"tag key (1-{TAG_KEY_MAX} letters, digits, spaces and _.:/=+-@). {fix}"
            )
        if len(tag_value) > TAG_VALUE_MAX or not _is_tag_text(tag_value):
            raise ValueError(
                f"Rule parameter {parameter} holds {item!r}, whose value {tag_value!r} is not "
                f"an IAM tag value (0-{TAG_VALUE_MAX} letters, digits, spaces and _.:/=+-@). "
                f"{fix}"
            )
        tags.append(ExemptTag(key, tag_value if equals else None))
    return tuple(dict.fromkeys(tags))


def _parse_bool(value: str, parameter: str) -> bool:
    normalised = value.strip().lower()
    if normalised in ("", "false"):
        return False
    if normalised == "true":
        return True
    raise ValueError(f"Rule parameter {parameter} is {value!r}; set it to 'true' or 'false'.")


def parse_rule_parameters(params: Mapping[str, Any]) -> RuleOptions:
    """Validate and parse the rule parameters as Config passes them (all strings).

    Raises ValueError naming the parameter, the bad value and the fix.
    """
    unknown = sorted(set(params) - set(RULE_PARAMETERS) - RDKLIB_PARAMETERS)
    if unknown:
        raise ValueError(
            f"Unknown rule parameter(s) {', '.join(unknown)}; "
            f"the rule accepts {', '.join(RULE_PARAMETERS)} (and rdklib's "
            f"{', '.join(sorted(RDKLIB_PARAMETERS))}). Fix the parameter name."
        )
    for name in RULE_PARAMETERS:
        if not isinstance(params.get(name, ""), str):
            raise ValueError(
                f"Rule parameter {name} is {params[name]!r}; Config parameters are strings, "
                f"pass it as a string."
            )
    user_names = _checked_items(
        params.get("ExemptUserNames", ""),
        "ExemptUserNames",
        _USER_NAME,
        "an IAM user name (1-64 of letters, digits and +=.@_-)",
    )
    path_prefixes = _checked_items(
        params.get("ExemptUserPathPrefixes", ""),
        "ExemptUserPathPrefixes",
        _PATH,
        "an IAM path that starts and ends with '/' (such as /breakglass/)",
    )
    if "/" in path_prefixes:
        # Every user's path starts with "/": the rule would silently report nothing at all.
        raise ValueError(
            "Rule parameter ExemptUserPathPrefixes holds '/', which every IAM user's path "
            "starts with, so it would exempt every user. List narrower paths such as "
            "/breakglass/ in ExemptUserPathPrefixes (or remove the rule to stop checking)."
        )
    return RuleOptions(
        exempt_user_names=frozenset(user_names),
        exempt_path_prefixes=tuple(path_prefixes),
        exempt_policy_arns=parse_policy_arns(params.get("ExemptPolicyArns", "")),
        check_inline_policies=_parse_bool(
            params.get("CheckInlinePolicies", ""), "CheckInlinePolicies"
        ),
        exempt_user_tags=parse_exempt_user_tags(params.get("ExemptUserTags", "")),
    )


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _names(names: Sequence[str], shown: int) -> str:
    """The first ``shown`` names, then how many were cut."""
    listed = ", ".join(names[:shown])
    hidden = len(names) - shown
    if not hidden:
        return listed
    return f"{listed}, ... and {hidden} more" if listed else f"... and {hidden} more"


def _render(managed: Sequence[str], inline: Sequence[str], shown: tuple[int, int]) -> str:
    parts = []
    if managed:
        count = _plural(len(managed), "managed policy", "managed policies")
        parts.append(f"{count} attached directly: {_names(managed, shown[0])}")
    if inline:
        count = _plural(len(inline), "inline policy", "inline policies")
        parts.append(f"{count} on the user: {_names(inline, shown[1])}")
    # Inline policies cannot be attached elsewhere: their content moves to a group.
    verb = "Move" if inline else "Attach"
    pronoun = "it" if len(managed) + len(inline) == 1 else "them"
    advice = f"{verb} {pronoun} to a group and add the user to it."
    return "; ".join(parts) + ". " + advice


def non_compliant_annotation(managed: Sequence[str], inline: Sequence[str] = ()) -> str:
    """Name the offending policies and the fix, cutting names to stay within 256 characters."""
    shown = [len(managed), len(inline)]
    text = _render(managed, inline, (shown[0], shown[1]))
    while len(text) > ANNOTATION_LIMIT and any(shown):
        # Cut from the longer list first so both kinds stay visible.
        longer = 0 if shown[0] >= shown[1] else 1
        shown[longer] -= 1
        text = _render(managed, inline, (shown[0], shown[1]))
    # Cutting until the text fits can cut more than needed (one long inline name may not
    # fit where a managed one does): give names back, fewest shown first, while they fit.
    totals = (len(managed), len(inline))
    grown = True
    while grown:
        grown = False
        for kind in sorted((0, 1), key=lambda index: shown[index]):
            if shown[kind] == totals[kind]:
                continue
            trial = [shown[0] + (kind == 0), shown[1] + (kind == 1)]
            candidate = _render(managed, inline, (trial[0], trial[1]))
            if len(candidate) <= ANNOTATION_LIMIT:
                shown, text, grown = trial, candidate, True
                break
    return text[:ANNOTATION_LIMIT]


def decide(user: UserPolicies, options: RuleOptions) -> Verdict:
    """Decide whether one user complies: no non-exempt policy may sit directly on it."""
    # IAM user names are unique regardless of case, so "BreakGlass" names user "breakglass".
    exempt_names = {name.casefold() for name in options.exempt_user_names}
    if user.user_name.casefold() in exempt_names:
        return Verdict(
            NOT_APPLICABLE,
            f"User {user.user_name} is exempt: listed in the rule parameter ExemptUserNames.",
        )
    for prefix in options.exempt_path_prefixes:
        if user.path.startswith(prefix):
            # IAM paths may be 512 characters long: shorten the prefix, keep the parameter name.
            shown = prefix if len(prefix) <= 120 else prefix[:117] + "..."
            annotation = (
                f"User path {user.path if len(user.path) <= 60 else '...'} is exempt: it starts "
                f"with {shown}, listed in the rule parameter ExemptUserPathPrefixes."
            )
            return Verdict(NOT_APPLICABLE, annotation[:ANNOTATION_LIMIT])
    for exempt_tag in options.exempt_user_tags:
        for key, value in user.tags:
            if exempt_tag.matches(key, value):
                return Verdict(NOT_APPLICABLE, _tag_annotation(user, exempt_tag, key, value))
    managed = [
        policy.name
        for policy in user.attached_policies
        if policy.arn not in options.exempt_policy_arns
    ]
    inline = list(user.inline_policy_names) if options.check_inline_policies else []
    if managed or inline:
        return Verdict(NON_COMPLIANT, non_compliant_annotation(managed, inline))
    return Verdict(COMPLIANT, _compliant_annotation(user, options))


def _shortened(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tag_annotation(user: UserPolicies, exempt_tag: ExemptTag, key: str, value: str) -> str:
    # Tags may be 128 + 256 characters: 32 of each part keep the parameter's name in view.
    annotation = (
        f"User {user.user_name} is exempt: its tag {_shortened(key, 32)}="
        f"{_shortened(value, 32)} matches {_shortened(str(exempt_tag), 32)}, "
        "listed in the rule parameter ExemptUserTags."
    )
    return annotation[:ANNOTATION_LIMIT]


def _compliant_annotation(user: UserPolicies, options: RuleOptions) -> str:
    """Say what was checked; exempt policies still on the user are acknowledged, not named."""
    if options.check_inline_policies:
        text = "No managed or inline policies directly on the user"
    else:
        text = "No managed policies attached directly"
    if any(policy.arn in options.exempt_policy_arns for policy in user.attached_policies):
        text += " other than those listed in ExemptPolicyArns"
    return text + "."


def iter_account_users(
    iam_client: IAMClient, on_page: Callable[[int], None] | None = None
) -> Iterator[UserPolicies]:
    """Every IAM user of the account with its policies, one GetAccountAuthorizationDetails
    page (up to 1000 users) at a time; ``on_page(users_so_far)`` runs after each page.

    A failed call raises botocore's ClientError (after botocore's own retries).
    """
    request: dict[str, Any] = {"Filter": ["User"], "MaxItems": AUTHORIZATION_DETAILS_PAGE_SIZE}
    users_so_far = 0
    while True:
        page = iam_client.get_account_authorization_details(**request)
        for user_detail in page.get("UserDetailList") or ():
            users_so_far += 1
            yield UserPolicies.from_authorization_details(user_detail)
        if on_page is not None:
            on_page(users_so_far)
        if not page.get("IsTruncated"):
            return
        request["Marker"] = page["Marker"]
