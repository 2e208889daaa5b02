"""Build the two Lambda zips: the rule (with rdklib bundled) and the remediation helper.

    python -m deploy.build --rdklib-dir build/rdklib --out build

``--rdklib-dir`` is a ``pip install --no-deps --target`` folder (``make package``
fills it from requirements/runtime.txt): the rule ships rdklib itself instead
of depending on a layer published by another account. The Lambda runtime
provides boto3. Links such as ``remediation/user_compliance.py`` are followed,
so the zip holds the real module. Entries get a fixed timestamp, so the same
sources give the same bytes and ``aws cloudformation package`` uploads only
what changed.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULE_DIR = ROOT / "rules" / "IAM_USER_NO_DIRECT_POLICIES"
REMEDIATION_DIR = ROOT / "remediation"
HELPER_ZIP = "move_policies_to_group.zip"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _lambda_modules(folder: Path) -> list[Path]:
    """The Python modules of a Lambda folder, without RDK's ``*_test.py`` files."""
    return sorted(p for p in folder.glob("*.py") if not p.name.endswith("_test.py"))


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
            # read_bytes follows links: the real content is zipped, never the link.
            archive.writestr(info, path.read_bytes())
            names.append(name)
    return names


def build_rule_zip(
    out_dir: Path, rdklib_dir: Path, zip_name: str, rule_dir: Path = RULE_DIR
) -> Path:
    """The rule's zip (named by parameters.json's CodeKey): its modules plus rdklib."""
    if not (rdklib_dir / "rdklib" / "__init__.py").is_file():
        raise FileNotFoundError(
            f"{rdklib_dir} holds no rdklib package; fill it with "
            f"`pip install --no-deps --target {rdklib_dir} rdklib==<version>` (make package does)."
        )
    entries = [(p.name, p) for p in _lambda_modules(rule_dir)]
    entries += [(p.relative_to(rdklib_dir).as_posix(), p) for p in _bundled_files(rdklib_dir)]
    path = out_dir / zip_name
    write_zip(path, entries)
    return path


def build_helper_zip(out_dir: Path, remediation_dir: Path = REMEDIATION_DIR) -> Path:
    """The helper's zip: ``remediation/*.py`` (boto3 comes with the Lambda runtime)."""
    path = out_dir / HELPER_ZIP
    write_zip(path, [(p.name, p) for p in _lambda_modules(remediation_dir)])
    return path
