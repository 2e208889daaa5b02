"""The repository's two Lambda entry files, loaded as Lambda loads them: by module name.

The entries live outside the package (``rules/IAM_USER_NO_DIRECT_POLICIES/`` keeps
the RDK shape, ``remediation/`` the helper), so the demo and the tests load them
from this checkout, as the modules Lambda would import, without touching
``sys.path``. Each is loaded once and shared through ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

RULE_FOLDER = Path("rules") / "IAM_USER_NO_DIRECT_POLICIES"


def _repository() -> Path:
    """The checkout: the package's own (an editable install) or else the working directory."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / RULE_FOLDER).is_dir():
            return candidate
    return Path.cwd()  # load_entry names the missing file


REPOSITORY = _repository()
RULE_ENTRY = REPOSITORY / RULE_FOLDER / "IAM_USER_NO_DIRECT_POLICIES.py"
HELPER_ENTRY = REPOSITORY / "remediation" / "move_policies_to_group.py"
DOCUMENT_PATH = REPOSITORY / "remediation" / "MoveIAMUserPoliciesToGroup.yaml"
RESTORE_DOCUMENT_PATH = REPOSITORY / "remediation" / "RestoreIAMUserPoliciesFromGroups.yaml"
RULE_PARAMETERS_PATH = REPOSITORY / "parameters.json"


def load_entry(path: Path) -> ModuleType:
    """The module of a Lambda entry file, under its file name, as Lambda imports it."""
    name = path.stem
    if (loaded := sys.modules.get(name)) is not None:
        return loaded
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run the simulation from a checkout of the repository"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be loaded as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def rule_entry() -> ModuleType:
    """``IAM_USER_NO_DIRECT_POLICIES``: the rule's entry (``lambda_handler``, the ConfigRule)."""
    return load_entry(RULE_ENTRY)


def helper_entry() -> ModuleType:
    """``move_policies_to_group``: the remediation helper's entry (``lambda_handler``)."""
    return load_entry(HELPER_ENTRY)
