"""The Lambda zips: built from the one package, what they hold, and that each runs alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
import rdklib

from deploy import package

ROOT = Path(__file__).resolve().parents[2]
RULE_ZIP = "IAM_USER_NO_DIRECT_POLICIES.zip"


@pytest.fixture(scope="module")
def rdklib_dir(tmp_path_factory) -> Path:
    """A ``pip install --no-deps --target`` folder with rdklib (copied from the test env)."""
    target = tmp_path_factory.mktemp("rdklib-target")
    shutil.copytree(Path(rdklib.__file__).parent, target / "rdklib")
    (target / "bin").mkdir()
    (target / "bin" / "some-script").write_text("#!/bin/sh\n")
    return target


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory) -> Path:
    """The project as ``pip install --no-deps --target`` installs it."""
    return package.install_package(tmp_path_factory.mktemp("package") / "target")


@pytest.fixture(scope="module")
def zips(tmp_path_factory, rdklib_dir, package_dir) -> dict[str, Path]:
    """Both zips, built as `make package` builds them."""
    out = tmp_path_factory.mktemp("build")
    return {
        "rule": package.build_rule_zip(out, rdklib_dir, RULE_ZIP, package_dir),
        "helper": package.build_helper_zip(out, package_dir),
    }


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def _package_modules() -> list[str]:
    """The package's modules in the working tree, without the simulation."""
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "no_direct_policies").rglob("*.py")
        if "simulation" not in p.parts
    )


def test_rule_zip_holds_its_entry_the_package_and_rdklib_without_caches_or_scripts(zips):
    names = _names(zips["rule"])
    assert sorted(n for n in names if "/" not in n) == ["IAM_USER_NO_DIRECT_POLICIES.py"]
    assert sorted(n for n in names if n.startswith("no_direct_policies/")) == _package_modules()
    assert "rdklib/__init__.py" in names
    assert "rdklib/evaluator.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("bin/")]


def test_helper_zip_holds_its_entry_and_the_package_without_rdklib_or_the_simulation(zips):
    names = _names(zips["helper"])
    assert names == sorted(["move_policies_to_group.py", *_package_modules()])


def test_zipped_files_are_the_working_trees_sources(zips):
    with zipfile.ZipFile(zips["helper"]) as archive:
        for name in archive.namelist():
            source = ROOT / ("remediation" if "/" not in name else "") / name
            assert archive.read(name) == source.read_bytes(), name
            assert archive.getinfo(name).external_attr >> 16 == 0o644


def test_zips_are_byte_for_byte_reproducible(tmp_path, zips, rdklib_dir):
    package_dir = package.install_package(tmp_path / "package")
    again = package.build_helper_zip(tmp_path, package_dir)
    assert again.read_bytes() == zips["helper"].read_bytes()
    rule_again = package.build_rule_zip(tmp_path, rdklib_dir, RULE_ZIP, package_dir)
    assert rule_again.read_bytes() == zips["rule"].read_bytes()


# Run in a clean interpreter (-S: no site-packages, so no installed project): the unzipped
# zip first on sys.path, as Lambda puts its task root, then only the folder boto3 comes from,
# as the runtime provides it. The entry and the package must come from the zip.
_RUN_HANDLER = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
entry = __import__(sys.argv[3])
import no_direct_policies
for module in (entry, no_direct_policies):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
try:
    entry.lambda_handler(json.loads(sys.argv[4]), None)
except Exception as error:
    print(type(error).__name__, error)
if "rdklib" in sys.modules:
    assert sys.modules["rdklib"].__file__.startswith(sys.argv[1])
print("rdklib" in sys.modules)
"""


# Each entry, an event its handler must refuse, and the start of what it raises.
_HANDLER_CASES = {
    "rule": (
        "IAM_USER_NO_DIRECT_POLICIES",
        {"invokingEvent": "{}", "ruleParameters": "{}", "resultToken": "TESTMODE"},
        "MalformedEvent Malformed Config event: invokingEvent.messageType is missing",
    ),
    "helper": ("move_policies_to_group", {"UserName": "a b"}, "RemediationRefused Refused:"),
}


@pytest.mark.parametrize("zip_key", sorted(_HANDLER_CASES))
def test_each_zip_runs_its_handler_alone(tmp_path, zips, zip_key):
    module, event, answer = _HANDLER_CASES[zip_key]
    unzipped = tmp_path / zip_key
    with zipfile.ZipFile(zips[zip_key]) as archive:
        archive.extractall(unzipped)
    runtime = Path(boto3.__file__).parent.parent
    argv = [str(unzipped), str(runtime), module, json.dumps(event)]
    result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter on a built zip
        [sys.executable, "-S", "-c", _RUN_HANDLER, *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(answer), result.stdout
    # Only the rule runs on rdklib: the helper's zip neither carries nor loads it.
    assert result.stdout.endswith(f"\n{zip_key == 'rule'}\n"), result.stdout


def test_rule_zip_refuses_a_folder_without_rdklib(tmp_path, package_dir):
    with pytest.raises(FileNotFoundError, match="pip install --no-deps --target"):
        package.build_rule_zip(tmp_path, tmp_path, "rule.zip", package_dir)


def test_zips_refuse_a_folder_without_the_package(tmp_path, rdklib_dir):
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps --target .* \."):
        package.build_helper_zip(tmp_path, tmp_path)
