"""Helper Lambda of the remediation (handler ``move_policies_to_group.lambda_handler``).

The SSM Automation document ``MoveIAMUserPoliciesToGroup`` invokes it with the
noncompliant user's ID; the move itself is ``no_direct_policies.move.request``.
``RestoreIAMUserPoliciesFromGroups`` invokes it with ``"Operation": "Restore"``:
the undo, ``no_direct_policies.move.undo`` (``no_direct_policies.move.operation``
chooses).
"""

from no_direct_policies.move.operation import lambda_handler

__all__ = ["lambda_handler"]
