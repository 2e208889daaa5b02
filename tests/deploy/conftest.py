"""Fixtures of the deployment tests: parameters.json, the SSM document and the rendered templates.

Rendering is pure and quick, but cfn-lint and checkov read files: the
templates are written once per session into a temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import build
from deploy.rule_spec import RuleSpec, load_rule_spec


@pytest.fixture(scope="session")
def parameters_json() -> dict[str, Any]:
    """parameters.json as written."""
    return json.loads(build.PARAMETERS_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def spec() -> RuleSpec:
    """parameters.json as the templates read it."""
    return load_rule_spec(build.PARAMETERS_FILE)


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    """The remediation's SSM Automation document."""
    return yaml.safe_load(build.DOCUMENT_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    """Every rendered template, by file name."""
    return build.render_all(build.PARAMETERS_FILE, build.DOCUMENT_FILE)


@pytest.fixture(scope="session")
def rendered_dir(tmp_path_factory: pytest.TempPathFactory, templates) -> Path:
    """A folder holding the rendered templates as `python -m deploy.build` writes them."""
    folder = tmp_path_factory.mktemp("rendered")
    for name, template in templates.items():
        (folder / name).write_text(build.dump_template(template), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def account(templates) -> dict[str, Any]:
    """The single-account template."""
    return templates["account.yaml"]


@pytest.fixture(scope="session")
def stackset(templates) -> dict[str, Any]:
    """The per-account StackSet template."""
    return templates["stackset.yaml"]


@pytest.fixture(scope="session")
def pack(templates) -> dict[str, Any]:
    """The conformance pack template."""
    return templates["conformance-pack.yaml"]
