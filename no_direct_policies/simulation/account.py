"""A simulated AWS account (moto) that looks like a real one where it matters.

Used by ``make demo`` and by the test suite's shared fixture, so both see the
same account: AWS-managed policies loaded, and users and groups with unique
IDs in AWS's format (``AIDA...``, ``AGPA...``) instead of moto's random
lowercase ones, because Config's resource ID for a user is that ID.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterator
from contextlib import contextmanager

from moto import mock_aws
from moto.iam import models as iam_models

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# Credentials and settings a simulated account needs; real ones must never leak in.
SIMULATED_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "MOTO_ACCOUNT_ID": ACCOUNT_ID,
}
CLEARED_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL")
_ID_ALPHABET = string.ascii_uppercase + string.digits


def aws_style_id(prefix: str) -> str:
    """An IAM unique ID as AWS issues them: a 4-letter prefix and 17 characters."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def patch_moto_ids() -> None:
    """Give moto's users ``AIDA...`` IDs and its groups ``AGPA...`` IDs (idempotent)."""
    for model, prefix in ((iam_models.User, "AIDA"), (iam_models.Group, "AGPA")):
        original = model.__init__
        if getattr(original, "_aws_style_ids", False):
            continue

        def init(self, *args, _original=original, _prefix=prefix, **kwargs):
            _original(self, *args, **kwargs)
            self.id = aws_style_id(_prefix)

        init._aws_style_ids = True
        model.__init__ = init


def patch_moto_group_deletion() -> None:
    """Make moto refuse ``DeleteGroup`` on a group with members or policies, as IAM does.

    IAM answers ``DeleteConflict`` until the members are removed, the inline policies
    deleted and the managed ones detached (IAM User Guide, "Delete an IAM group"); moto
    5.2.5 deletes the group anyway. The run lock's release relies on IAM's refusal.
    """
    original = iam_models.IAMBackend.delete_group
    if getattr(original, "_refuses_conflicts", False):
        return

    def delete_group(self: iam_models.IAMBackend, group_name: str) -> None:
        group = self.groups.get(group_name)
        if group is not None and (group.users or group.managed_policies or group.policies):
            from moto.iam.exceptions import DeleteConflictException  # noqa: PLC0415

            raise DeleteConflictException(
                "Cannot delete entity, must remove users from group first."
                if group.users
                else "Cannot delete entity, must delete policies first."
            )
        original(self, group_name)

    delete_group._refuses_conflicts = True  # type: ignore[attr-defined]
    iam_models.IAMBackend.delete_group = delete_group  # type: ignore[method-assign]


def patch_moto() -> None:
    """Every way the simulated account is made to behave like IAM where it matters here."""
    patch_moto_ids()
    patch_moto_group_deletion()


@contextmanager
def simulated_account() -> Iterator[None]:
    """Run the block against an in-process moto account with AWS-managed policies.

    The process environment is set to the simulated account's credentials for
    the block and restored afterwards.
    """
    saved = {key: os.environ.get(key) for key in (*SIMULATED_ENV, *CLEARED_ENV)}
    os.environ.update(SIMULATED_ENV)
    for key in CLEARED_ENV:
        os.environ.pop(key, None)
    patch_moto()
    try:
        with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
