"""How the pieces are put together: one package, imported one way, simulators apart.

Product code is the ``no_direct_policies`` package without its ``simulation``
subpackage, plus the two Lambda entry files. It never imports the stand-ins for
AWS (``no_direct_policies.simulation``, moto), never edits ``sys.path``, and no
code is shared through a symbolic link.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import no_direct_policies

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "no_direct_policies"
SIMULATION = PACKAGE / "simulation"
ENTRIES = [
    ROOT / "rules" / "IAM_USER_NO_DIRECT_POLICIES" / "IAM_USER_NO_DIRECT_POLICIES.py",
    ROOT / "remediation" / "move_policies_to_group.py",
]
FORBIDDEN = ("no_direct_policies.simulation", "moto")


def _product_modules() -> list[Path]:
    modules = [p for p in PACKAGE.rglob("*.py") if SIMULATION not in p.parents]
    return sorted(modules) + ENTRIES


def _imported_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _forbidden(name: str) -> bool:
    return any(name == root or name.startswith(f"{root}.") for root in FORBIDDEN)


def test_product_code_is_the_package_without_its_simulation_and_the_two_entries():
    product = _product_modules()
    assert len(product) > 20
    assert all(path.is_file() for path in ENTRIES)
    assert not [p for p in product if p.is_relative_to(SIMULATION)]


@pytest.mark.parametrize("path", _product_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_product_module_imports_no_simulator_and_leaves_sys_path_alone(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert [name for name in _imported_names(tree) if _forbidden(name)] == []
    sys_path_uses = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]
    assert sys_path_uses == []


def test_the_import_check_catches_a_simulator_import():
    tree = ast.parse(
        "import moto\nfrom no_direct_policies.simulation import account\n"
        "from no_direct_policies import simulation\n"
    )
    assert [name for name in _imported_names(tree) if _forbidden(name)] == [
        "moto",
        "no_direct_policies.simulation",
        "no_direct_policies.simulation.account",
        "no_direct_policies.simulation",
    ]


def test_no_code_is_shared_through_a_link():
    tracked = subprocess.run(
        ["git", "ls-files", "-s"],  # noqa: S607 - git from PATH, as the developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    links = sorted(line.split("\t", 1)[1] for line in tracked if line.startswith("120000 "))
    # parameters.json is data: the rule folder shows the one file RDK expects there.
    assert links == ["rules/IAM_USER_NO_DIRECT_POLICIES/parameters.json"]


def test_the_tests_use_the_installed_package_of_this_working_tree():
    assert Path(no_direct_policies.__file__).resolve() == PACKAGE / "__init__.py"


def test_the_command_line_tool_and_the_helper_import_without_rdklib_or_moto():
    # rdklib is the rule's extra and moto the simulation's: blocked, as if not installed.
    code = (
        "import sys; sys.modules.update(rdklib=None, moto=None); "
        "import no_direct_policies.cli.main, no_direct_policies.move.request; "
        "print(no_direct_policies.__version__)"
    )
    done = subprocess.run(  # noqa: S603 - fixed argv: this interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd="/"
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "1.0.0\n", "")
