"""Fixtures for the findings formatters, and the browser tests' collection rule.

``test_html_in_browser.py`` drives a real headless Chromium. It is collected
only when ``chromium`` is on PATH, or when ``REQUIRE_BROWSER=1`` (then a
missing browser fails the run instead of leaving the module out). CI installs
Chromium before ``make test``, so there the module always runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from findings_support import sample_findings

from no_direct_policies.findings.model import Finding

BROWSER_MODULE = "test_html_in_browser.py"


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER") == "1"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name != BROWSER_MODULE:
        return None
    if shutil.which("chromium") is None and not browser_required():
        return True
    return None


@pytest.fixture
def findings() -> list[Finding]:
    return sample_findings()
