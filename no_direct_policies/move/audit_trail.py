"""The move's and the undo's audit trail: every IAM change they make is logged at INFO."""

from __future__ import annotations

import logging


def audit_logger(name: str) -> logging.Logger:
    """The logger of a module that changes IAM, at INFO whatever the root level is."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    return logger
