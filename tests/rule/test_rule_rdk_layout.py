"""The rule folder in RDK's shape: ``rdk test-local IAM_USER_NO_DIRECT_POLICIES`` finds and
passes the scenario tests. rdk itself needs Python 3.12; its discovery is emulated here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
RULE = "IAM_USER_NO_DIRECT_POLICIES"

# What rdk 1.0.0's test-local does (rdk.py, __create_test_suite), run from rules/.
_RDK_TEST_LOCAL = """
import fnmatch, json, os, sys, unittest
test_dir = os.path.join(os.getcwd(), sys.argv[1])
tests = []
for top, dirs, filenames in os.walk(test_dir):
    for filename in fnmatch.filter(filenames, "*_test.py"):
        sys.path.append(top)
        tests.append(filename[:-3])
suite = unittest.TestSuite([unittest.defaultTestLoader.loadTestsFromName(t) for t in tests])
result = unittest.TextTestRunner(buffer=True, verbosity=0).run(suite)
print(json.dumps({"modules": tests, "run": result.testsRun, "ok": result.wasSuccessful()}))
"""


def test_rdk_test_local_discovers_and_passes_the_scenario_tests():
    done = subprocess.run(  # noqa: S603 - fixed argv: this interpreter
        [sys.executable, "-c", _RDK_TEST_LOCAL, RULE],
        cwd=RULES,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["modules"] == [f"{RULE}_test"]
    assert report["run"] >= 10
    assert report["ok"] is True, done.stderr


def test_rule_folder_has_the_rdk_files_and_the_single_parameters_file():
    folder = RULES / RULE
    assert sorted(p.name for p in folder.iterdir() if p.name != "__pycache__") == [
        f"{RULE}.py",
        f"{RULE}_test.py",
        "parameters.json",
    ]
    assert (folder / "parameters.json").is_symlink()
    assert json.loads((folder / "parameters.json").read_text()) == json.loads(
        (ROOT / "parameters.json").read_text()
    )
