"""Registers the remediation tests' fixtures (defined in ``remediation_helpers``)."""

from remediation_helpers import (  # noqa: F401 - imported fixtures are registered by pytest
    aws_managed_arns,
    call_log,
    fail_call,
    guard,
    make_group,
    make_user,
    observer,
    quotas,
)
