"""The shape of the Config event the rule's Lambda receives, checked before rdklib reads it.

rdklib indexes the event without looking: a missing ``resultToken`` is a bare
``KeyError``, a ``ruleParameters`` list a ``TypeError``, and ``eventLeftScope``
given as the string ``"false"`` is truthy, so the user silently becomes
NOT_APPLICABLE. ``check_event`` turns every such event into one ``MalformedEvent``
that names the field and its value.

Choices where Config's documentation leaves room:

- ``eventLeftScope`` must be a JSON boolean; a missing key means in scope.
  Strings such as ``"false"`` are refused, never guessed at.
- ``ruleParameters`` may be missing; when present it is a JSON string of an object.
  rdklib's ``AssumeRoleMode`` must be the string ``"true"`` or ``"false"`` (a JSON
  boolean is refused: Config passes every parameter as a string).
- ``configurationItemStatus`` is one of the five Config documents; any other value
  (``"ok"``, ``"ResourceUpdated"``) is refused instead of becoming NOT_APPLICABLE.
- In a user's configuration, ``attachedManagedPolicies``, ``userPolicyList`` and
  ``groupList`` are lists or null (null and missing count as empty); ``userName``
  is a non-empty string (when missing or null, the item's ``resourceName`` must be);
  ``path`` is a string or null (null is the root).
- Tags: the item's ``tags`` (a map of strings, as Config records it) and the
  configuration's ``tags`` (a list of ``{key, value}``, as IAM returns them) may each
  be either shape, or null.
- GetResourceConfigHistory's item (oversized path): rdklib converts it without
  looking, so for an item it will not evaluate (deleted, not recorded, another
  type) a missing ``configuration`` becomes ``"null"`` and missing
  ``relationships`` / ``supplementaryConfiguration`` become empty; an item it will
  evaluate must carry ``configuration`` and ``relationships``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

USER_TYPE = "AWS::IAM::User"
CHANGE = "ConfigurationItemChangeNotification"
OVERSIZED = "OversizedConfigurationItemChangeNotification"
SCHEDULED = "ScheduledNotification"
EVALUATED_STATUSES = ("OK", "ResourceDiscovered")  # rdklib evaluates only these
STATUSES = (
    *EVALUATED_STATUSES,
    "ResourceNotRecorded",
    "ResourceDeleted",
    "ResourceDeletedNotRecorded",
)
_ROLE_PARAMETERS = ("AssumeRoleMode", "ExecutionRoleName", "ExecutionRoleRegion")
_SHOWN = 80  # characters of a bad value quoted in the message


class MalformedEvent(ValueError):
    """The event is not shaped as Config sends it; the message names the field and value."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        super().__init__(
            f"Malformed Config event: {field} is {_shown(value)}; expected {expected}."
        )


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


_MISSING = object()


def _require(container: Mapping[str, Any], key: str, kind: type, field: str, expected: str) -> Any:
    value = container.get(key, _MISSING)
    if not isinstance(value, kind) or (kind is str and not value):
        raise MalformedEvent(field, value, expected)
    return value


def _json_object(text: Any, field: str) -> dict[str, Any]:
    expected = "a JSON string of an object"
    if not isinstance(text, str):
        raise MalformedEvent(field, text, expected)
    try:
        value = json.loads(text)
    except ValueError:
        raise MalformedEvent(field, text, expected) from None
    if not isinstance(value, dict):
        raise MalformedEvent(field, text, expected)
    return value


def check_event(event: Any) -> dict[str, Any]:
    """Check the event rdklib is about to read; return it with ``eventLeftScope`` filled in.

    Raises MalformedEvent naming the first field that is missing or of the wrong type.
    """
    if not isinstance(event, dict):
        raise MalformedEvent("event", event, "a JSON object")
    invoking_event = _json_object(event.get("invokingEvent", _MISSING), "invokingEvent")
    message_type = _require(
        invoking_event, "messageType", str, "invokingEvent.messageType", "a string"
    )
    _require(event, "resultToken", str, "resultToken", "a non-empty string")
    _require(event, "executionRoleArn", str, "executionRoleArn", "a role ARN string")
    left_scope = event.get("eventLeftScope", False)
    if not isinstance(left_scope, bool):
        raise MalformedEvent("eventLeftScope", left_scope, "a JSON boolean (true or false)")
    if "ruleParameters" in event:
        _check_rule_parameters(_json_object(event["ruleParameters"], "ruleParameters"))
    if message_type == SCHEDULED:
        _require(event, "configRuleName", str, "configRuleName", "the rule's name")
        _require(
            invoking_event,
            "notificationCreationTime",
            str,
            "invokingEvent.notificationCreationTime",
            "a timestamp string",
        )
    elif message_type == CHANGE:
        _check_configuration_item(invoking_event, left_scope)
    elif message_type == OVERSIZED:
        _check_oversized_summary(invoking_event)
    return {**event, "eventLeftScope": left_scope}


def _check_rule_parameters(parameters: dict[str, Any]) -> None:
    for name in _ROLE_PARAMETERS:
        if name in parameters and not isinstance(parameters[name], str):
            raise MalformedEvent(
                f"ruleParameters.{name}",
                parameters[name],
                "a string (Config passes every rule parameter as a string)",
            )
    mode = parameters.get("AssumeRoleMode")
    if mode is not None and mode.strip().lower() not in ("true", "false"):
        raise MalformedEvent("ruleParameters.AssumeRoleMode", mode, "'true' or 'false'")


def _check_configuration_item(invoking_event: dict[str, Any], left_scope: bool) -> None:
    field = "invokingEvent.configurationItem"
    item = _require(invoking_event, "configurationItem", dict, field, "an object")
    for key in ("configurationItemStatus", "resourceType", "resourceId"):
        _require(item, key, str, f"{field}.{key}", "a non-empty string")
    _check_status(item["configurationItemStatus"], f"{field}.configurationItemStatus")
    _require(
        item,
        "configurationItemCaptureTime",
        str,
        f"{field}.configurationItemCaptureTime",
        "a timestamp string",
    )
    evaluated = (
        item["configurationItemStatus"] in EVALUATED_STATUSES
        and item["resourceType"] == USER_TYPE
        and not left_scope
    )
    if evaluated:
        configuration = item.get("configuration", _MISSING)
        check_user_configuration(configuration, f"{field}.configuration")
        check_user_identity(item, configuration, field)


def _check_status(status: Any, field: str) -> None:
    if status not in STATUSES:
        raise MalformedEvent(field, status, "one of " + ", ".join(STATUSES))


def check_user_identity(
    item: Mapping[str, Any], configuration: Mapping[str, Any], field: str
) -> None:
    """The user's name (``configuration.userName``, else the item's ``resourceName``), its
    path and its tags: what the decision reads besides the policy lists."""
    user_name = configuration.get("userName")
    if user_name is None:
        _require(
            item,
            "resourceName",
            str,
            f"{field}.resourceName",
            "the user name as a non-empty string (configuration.userName is missing or null)",
        )
    elif not isinstance(user_name, str) or not user_name:
        raise MalformedEvent(
            f"{field}.configuration.userName", user_name, "the user name as a non-empty string"
        )
    path = configuration.get("path")
    if path is not None and not isinstance(path, str):
        raise MalformedEvent(f"{field}.configuration.path", path, "an IAM path string or null")
    check_tags(item.get("tags"), f"{field}.tags")
    check_tags(configuration.get("tags"), f"{field}.configuration.tags")


def check_tags(tags: Any, field: str) -> None:
    """Tags as a map of strings, or as a list of ``{key, value}`` objects, or null."""
    expected = "a map of strings, a list of {key, value} objects, or null"
    if tags is None:
        return
    if isinstance(tags, dict):
        for key, value in tags.items():
            if not isinstance(value, str):
                raise MalformedEvent(f"{field}.{key}", value, "a string (a tag value)")
        return
    if not isinstance(tags, list):
        raise MalformedEvent(field, tags, expected)
    for index, tag in enumerate(tags):
        if not isinstance(tag, dict):
            raise MalformedEvent(f"{field}[{index}]", tag, "an object {key, value}")
        key_name, value_name = ("Key", "Value") if "Key" in tag else ("key", "value")
        _require(tag, key_name, str, f"{field}[{index}].{key_name}", "a non-empty string")
        value = tag.get(value_name, _MISSING)
        if not isinstance(value, str):
            raise MalformedEvent(f"{field}[{index}].{value_name}", value, "a string")


def check_user_configuration(configuration: Any, field: str) -> None:
    """Check the ``configuration`` of an AWS::IAM::User item the rule is about to decide on."""
    if not isinstance(configuration, dict):
        raise MalformedEvent(field, configuration, "an object")
    for key in ("attachedManagedPolicies", "userPolicyList", "groupList"):
        value = configuration.get(key)
        if value is not None and not isinstance(value, list):
            raise MalformedEvent(f"{field}.{key}", value, "a list or null")
    policies = (
        ("attachedManagedPolicies", ("policyName", "policyArn")),
        ("userPolicyList", ("policyName",)),
    )
    for key, names in policies:
        for index, policy in enumerate(configuration.get(key) or ()):
            if not isinstance(policy, dict):
                raise MalformedEvent(f"{field}.{key}[{index}]", policy, "an object")
            for name in names:
                _require(policy, name, str, f"{field}.{key}[{index}].{name}", "a string")


def _check_oversized_summary(invoking_event: dict[str, Any]) -> None:
    field = "invokingEvent.configurationItemSummary"
    summary = _require(invoking_event, "configurationItemSummary", dict, field, "an object")
    for key in ("resourceType", "resourceId"):
        _require(summary, key, str, f"{field}.{key}", "a non-empty string")
    for key in ("notificationCreationTime", "recordVersion"):
        _require(invoking_event, key, str, f"invokingEvent.{key}", "a string")


def check_history(summary: Mapping[str, Any], response: Mapping[str, Any]) -> None:
    """Check GetResourceConfigHistory's answer for an oversized notification's resource.

    rdklib converts the first item without looking (``json.loads`` of its
    ``configuration``, a loop over its ``relationships``). For an item rdklib will not
    evaluate, missing parts are filled in here (in ``response``, which rdklib reads
    next) so it becomes NOT_APPLICABLE; an item it will evaluate must have them.
    """
    items = response.get("configurationItems")
    resource = f"{summary.get('resourceType')} {summary.get('resourceId')}"
    if not isinstance(items, list) or not items:
        raise MalformedEvent(
            "invokingEvent.configurationItemSummary.resourceId",
            summary.get("resourceId"),
            f"a resource with recorded history, but GetResourceConfigHistory returned no "
            f"configuration item for {resource} (not recorded, or deleted since)",
        )
    item = items[0]
    where = f"{resource} in its history"
    if not isinstance(item, dict):
        raise MalformedEvent(f"the configuration item of {where}", item, "an object")
    _check_status(
        item.get("configurationItemStatus", _MISSING), f"configurationItemStatus of {where}"
    )
    evaluated = (
        item["configurationItemStatus"] in EVALUATED_STATUSES
        and item.get("resourceType") == USER_TYPE
    )
    # rdklib converts these before it decides whether to evaluate: an item it will not
    # evaluate gets empty ones; one it will must have them. Its own default for the
    # supplementary configuration is empty too, but only when the key is missing.
    fill = _EMPTY_HISTORY_PARTS if not evaluated else {"supplementaryConfiguration": {}}
    for key, empty in fill.items():
        if item.get(key) is None:
            item[key] = copy.deepcopy(empty)
    configuration_text = item.get("configuration", _MISSING)
    if evaluated:
        configuration: Any = _json_object(configuration_text, f"configuration of {where}")
    else:
        configuration = _json_value(configuration_text, f"configuration of {where}")
    _check_history_parts(item, where)
    if evaluated:
        check_user_configuration(configuration, f"configuration of {where}")
        check_user_identity(item, configuration, f"history of {resource}: configurationItems[0]")


def _check_history_parts(item: Mapping[str, Any], where: str) -> None:
    relationships = item.get("relationships", _MISSING)
    if not isinstance(relationships, list):
        raise MalformedEvent(f"relationships of {where}", relationships, "a list")
    for index, relationship in enumerate(relationships):
        if not isinstance(relationship, dict):
            raise MalformedEvent(f"relationships[{index}] of {where}", relationship, "an object")
    supplementary = item["supplementaryConfiguration"]
    if not isinstance(supplementary, dict):
        raise MalformedEvent(f"supplementaryConfiguration of {where}", supplementary, "a map")
    for key, value in supplementary.items():
        _json_value(value, f"supplementaryConfiguration.{key} of {where}")


# What an item rdklib will not evaluate gets in place of a missing or null part.
_EMPTY_HISTORY_PARTS: dict[str, Any] = {
    "configuration": "null",
    "relationships": [],
    "supplementaryConfiguration": {},
}


def _json_value(text: Any, field: str) -> Any:
    expected = "a JSON string"
    if not isinstance(text, str):
        raise MalformedEvent(field, text, expected)
    try:
        return json.loads(text)
    except ValueError:
        raise MalformedEvent(field, text, expected) from None
