"""The remediation's SSM document and the helper wired into the step runner, for the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from no_direct_policies.move.request import lambda_handler

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_PATH = ROOT / "remediation" / "MoveIAMUserPoliciesToGroup.yaml"
ROLE = "arn:aws:iam::123456789012:role/IAM_USER_NO_DIRECT_POLICIES-automation"


def load_document() -> dict[str, Any]:
    """The document as SSM would parse it."""
    return yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))


def rule_remediation() -> dict[str, Any]:
    """The ``Remediation`` block of parameters.json."""
    return json.loads((ROOT / "parameters.json").read_text())["Parameters"]["Remediation"]


def invoke_helper(function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Lambda's part: the helper's real handler, in-process (moto runs no Lambda code)."""
    assert function_name == "MoveIAMUserPoliciesToGroup"
    return lambda_handler(payload, None)


def without_permission(script: str, permission: str) -> str:
    """A verify script whose ``REQUIRED_PERMISSIONS`` lacks ``permission``."""
    line = f'    "{permission}",\n'
    assert script.count(line) == 1, f"{permission} is not one line of REQUIRED_PERMISSIONS"
    return script.replace(line, "")
