"""cfn-lint and checkov on the rendered templates: no error, no unexplained warning or finding.

The rendered templates are what gets deployed, so they are what is linted.
checkov runs from its own environment (.venv-checkov, it pins an older boto3).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cfnlint.api
import pytest

from deploy import build

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def test_cfn_lint_finds_nothing_in_any_rendered_template(rendered_dir):
    templates = sorted(str(p) for p in rendered_dir.glob("*.yaml"))
    assert len(templates) == 3
    result = subprocess.run(  # noqa: S603 - fixed argv: the venvs' own linters on generated files
        [str(CFN_LINT), "--format", "parseable", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_cfn_lint_reports_an_error_in_a_broken_template(account):
    # The lint test above can fail: Lambda's timeout cannot exceed 900 seconds.
    broken = json.loads(json.dumps(account))
    broken["Resources"]["RuleFunction"]["Properties"]["Timeout"] = 901
    errors = [m.path for m in cfnlint.api.lint(json.dumps(broken)) if m.rule.id[0] == "E"]
    assert errors == [["Resources", "RuleFunction", "Properties", "Timeout"]]


def test_every_ignored_cfn_lint_check_says_why_in_place():
    for source in sorted(build.TEMPLATES.glob("*.yaml")):
        lines = source.read_text().splitlines()
        for number, line in enumerate(lines):
            if re.fullmatch(r"\s+- [EWI]\d{4}", line):
                assert lines[number - 1].strip().startswith("#"), f"{source.name}:{number + 1}"


@pytest.fixture(scope="module")
def checkov_report(rendered_dir, tmp_path_factory) -> list[dict]:
    """checkov's JSON report on the rendered templates (one entry per framework)."""
    result = subprocess.run(  # noqa: S603 - fixed argv: the venvs' own linters on generated files
        [
            str(CHECKOV),
            "--directory",
            str(rendered_dir),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path_factory.mktemp("checkov-home"))},
        timeout=120,
    )
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_finds_nothing_unsuppressed(checkov_report):
    failed = [
        f"{c['file_path']} {c['resource']} {c['check_id']}"
        for entry in checkov_report
        for c in entry["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(entry["summary"]["passed"] for entry in checkov_report) > 0


def test_every_checkov_suppression_gives_a_reason(checkov_report):
    skipped = [c for entry in checkov_report for c in entry["results"]["skipped_checks"]]
    assert skipped, "the Lambda and log-group suppressions are expected"
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) > 40, check["check_id"]
