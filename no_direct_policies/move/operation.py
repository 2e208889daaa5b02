"""The helper Lambda's entry: one function, two operations, chosen by the payload's ``Operation``.

``Move`` (the default: the move's payload carries no ``Operation``) runs
``request.lambda_handler``; ``Restore`` runs the undo (``undo.lambda_handler``).
One function keeps one deployment and one least-privilege role for both SSM
documents, ``MoveIAMUserPoliciesToGroup`` and ``RestoreIAMUserPoliciesFromGroups``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from no_direct_policies.move import request, undo
from no_direct_policies.move.plan import RemediationRefused

MOVE, RESTORE = "Move", "Restore"
OPERATIONS = (MOVE, RESTORE)


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Run the operation the payload names (``Move`` when it names none)."""
    if not isinstance(event, Mapping) or "Operation" not in event:
        return request.lambda_handler(event, context)
    operation = event["Operation"]
    rest = {key: value for key, value in event.items() if key != "Operation"}
    if operation == RESTORE:
        return undo.lambda_handler(rest, context)
    if operation == MOVE:
        return request.lambda_handler(rest, context)
    raise RemediationRefused(
        f"Operation is {operation!r}; expected one of {', '.join(OPERATIONS)}."
    )
