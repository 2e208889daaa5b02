"""The Lambda zips: what they hold, that links are zipped as real files, that they import."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import rdklib

from deploy import package

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rdklib_dir(tmp_path_factory) -> Path:
    """A ``pip install --no-deps --target`` folder with rdklib (copied from the test env)."""
    target = tmp_path_factory.mktemp("rdklib-target")
    shutil.copytree(Path(rdklib.__file__).parent, target / "rdklib")
    (target / "bin").mkdir()
    (target / "bin" / "some-script").write_text("#!/bin/sh\n")
    return target


@pytest.fixture(scope="module")
def zips(tmp_path_factory, rdklib_dir) -> dict[str, Path]:
    """Both zips, built as `make package` builds them."""
    out = tmp_path_factory.mktemp("build")
    return {
        "rule": package.build_rule_zip(out, rdklib_dir, "IAM_USER_NO_DIRECT_POLICIES.zip"),
        "helper": package.build_helper_zip(out),
    }


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_rule_zip_holds_the_rule_modules_and_rdklib_without_caches_or_scripts(zips):
    names = _names(zips["rule"])
    top_level = sorted(n for n in names if "/" not in n)
    rule_folder = ROOT / "rules" / "IAM_USER_NO_DIRECT_POLICIES"
    modules = sorted(p.name for p in rule_folder.glob("*.py") if not p.name.endswith("_test.py"))
    assert top_level == modules
    assert {"IAM_USER_NO_DIRECT_POLICIES.py", "user_compliance.py"} <= set(top_level)
    assert "rdklib/__init__.py" in names
    assert "rdklib/evaluator.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("bin/")]


def test_helper_zip_holds_the_remediation_modules(zips):
    expected = sorted(p.name for p in (ROOT / "remediation").glob("*.py"))
    assert "move_policies_to_group.py" in expected
    assert _names(zips["helper"]) == expected


def test_linked_decision_module_is_zipped_as_a_regular_file_with_its_content(zips):
    linked = ROOT / "remediation" / "user_compliance.py"
    assert linked.is_symlink()
    real = (ROOT / "rules" / "IAM_USER_NO_DIRECT_POLICIES" / "user_compliance.py").read_bytes()
    with zipfile.ZipFile(zips["helper"]) as archive:
        info = archive.getinfo("user_compliance.py")
        assert archive.read(info) == real
    assert stat.S_ISLNK(info.external_attr >> 16) is False
    assert info.external_attr >> 16 == 0o644


def test_zips_are_byte_for_byte_reproducible(tmp_path, zips, rdklib_dir):
    again = package.build_helper_zip(tmp_path)
    assert again.read_bytes() == zips["helper"].read_bytes()
    rule_again = package.build_rule_zip(tmp_path, rdklib_dir, "IAM_USER_NO_DIRECT_POLICIES.zip")
    assert rule_again.read_bytes() == zips["rule"].read_bytes()


@pytest.mark.parametrize(
    ("zip_key", "module"),
    [("rule", "IAM_USER_NO_DIRECT_POLICIES"), ("helper", "move_policies_to_group")],
)
def test_each_handler_imports_from_its_zip_alone(zips, zip_key, module):
    # As Lambda does: the zip's root on sys.path; boto3 comes from the runtime.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        f"import {module}, user_compliance; "
        f"assert {module}.__file__.startswith(sys.argv[1]), {module}.__file__; "
        "assert user_compliance.__file__.startswith(sys.argv[1]); "
        f"assert callable({module}.lambda_handler)"
    )
    if zip_key == "rule":
        code += "; import rdklib; assert rdklib.__file__.startswith(sys.argv[1])"
    result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter on a built zip
        [sys.executable, "-c", code, str(zips[zip_key])],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_rule_zip_refuses_a_folder_without_rdklib(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip install --no-deps --target"):
        package.build_rule_zip(tmp_path, tmp_path, "rule.zip")
