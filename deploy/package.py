"""Build the two Lambda zips from the one package: the rule (with rdklib) and the helper.

    python -m deploy.build --rdklib-dir build/rdklib --out build

Each zip holds the ``no_direct_policies`` package as ``pip install --no-deps
--target`` installs it (``install_package``; its ``simulation`` test support
left out) and its Lambda entry file at the root: the rule's
``rules/IAM_USER_NO_DIRECT_POLICIES/IAM_USER_NO_DIRECT_POLICIES.py`` or the
helper's ``remediation/move_policies_to_group.py``. The rule's zip also carries
rdklib from ``--rdklib-dir``, a ``pip install --no-deps --target`` folder
(``make package`` fills it from requirements/runtime.txt), instead of depending
on a layer published by another account; the Lambda runtime provides boto3.
Entries get a fixed timestamp, so the same sources give the same bytes and
``aws cloudformation package`` uploads only what changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_NAME = "no_direct_policies"
RULE_ENTRY = ROOT / "rules" / "IAM_USER_NO_DIRECT_POLICIES" / "IAM_USER_NO_DIRECT_POLICIES.py"
HELPER_ENTRY = ROOT / "remediation" / "move_policies_to_group.py"
HELPER_ZIP = "move_policies_to_group.zip"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Test and demo support, never imported by the Lambdas.
_LEFT_OUT = ("simulation", "__pycache__")


def install_package(target: Path, project: Path = ROOT) -> Path:
    """``pip install --no-deps --target target`` of the project; returns ``target``.

    pip builds from a copy of ``pyproject.toml`` and the package (without the
    simulation), so the working tree gets no build output.
    """
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "source"
        source.mkdir()
        shutil.copy2(project / "pyproject.toml", source / "pyproject.toml")
        shutil.copytree(
            project / PACKAGE_NAME,
            source / PACKAGE_NAME,
            ignore=shutil.ignore_patterns(*_LEFT_OUT),
        )
        done = subprocess.run(  # noqa: S603 - fixed argv: this interpreter's pip
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--no-compile",
                "--target",
                str(target),
                str(source),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install the package into {target}:\n{done.stderr}")
    return target


def _package_files(package_dir: Path) -> list[Path]:
    """The package's files in a ``pip --target`` folder, without caches and the simulation."""
    if not (package_dir / PACKAGE_NAME / "__init__.py").is_file():
        raise FileNotFoundError(
            f"{package_dir} holds no {PACKAGE_NAME} package; fill it with "
            f"`pip install --no-deps --target {package_dir} .`."
        )
    return sorted(
        p
        for p in (package_dir / PACKAGE_NAME).rglob("*")
        if p.is_file() and not set(_LEFT_OUT) & set(p.relative_to(package_dir).parts)
    )


def _bundled_files(site_dir: Path) -> list[Path]:
    """Everything pip installed into ``site_dir``, without caches and scripts."""
    return sorted(
        p
        for p in site_dir.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.relative_to(site_dir).parts[0] != "bin"
    )


def write_zip(out_path: Path, entries: Iterable[tuple[str, Path]]) -> list[str]:
    """Write ``(name in zip, file)`` entries with fixed timestamps; returns the names."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
            names.append(name)
    return names


def _lambda_entries(entry: Path, package_dir: Path) -> list[tuple[str, Path]]:
    package = [(p.relative_to(package_dir).as_posix(), p) for p in _package_files(package_dir)]
    return [(entry.name, entry), *package]


def build_rule_zip(
    out_dir: Path, rdklib_dir: Path, zip_name: str, package_dir: Path, entry: Path = RULE_ENTRY
) -> Path:
    """The rule's zip (named by parameters.json's CodeKey): entry, package and rdklib."""
    if not (rdklib_dir / "rdklib" / "__init__.py").is_file():
        raise FileNotFoundError(
            f"{rdklib_dir} holds no rdklib package; fill it with "
            f"`pip install --no-deps --target {rdklib_dir} rdklib==<version>` (make package does)."
        )
    entries = _lambda_entries(entry, package_dir)
    entries += [(p.relative_to(rdklib_dir).as_posix(), p) for p in _bundled_files(rdklib_dir)]
    path = out_dir / zip_name
    write_zip(path, entries)
    return path


def build_helper_zip(out_dir: Path, package_dir: Path, entry: Path = HELPER_ENTRY) -> Path:
    """The helper's zip: entry and package (boto3 comes with the Lambda runtime)."""
    path = out_dir / HELPER_ZIP
    write_zip(path, _lambda_entries(entry, package_dir))
    return path


def build_zips(out_dir: Path, rdklib_dir: Path, rule_zip_name: str) -> list[Path]:
    """Install the package once into a scratch folder and build both zips from it."""
    with tempfile.TemporaryDirectory() as scratch:
        package_dir = install_package(Path(scratch) / "package")
        return [
            build_rule_zip(out_dir, rdklib_dir, rule_zip_name, package_dir),
            build_helper_zip(out_dir, package_dir),
        ]
