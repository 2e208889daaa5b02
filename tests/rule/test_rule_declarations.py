"""What is declared about the rule agrees with the code: parameters.json, the parameters
table of docs/rule.md, the scenario list and its tests, and the shared decision module."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import doc_tables
import IAM_USER_NO_DIRECT_POLICIES as rule_module
import pytest

ROOT = Path(__file__).resolve().parents[2]
RULE_DIR = ROOT / "rules" / "IAM_USER_NO_DIRECT_POLICIES"


@pytest.fixture(scope="module")
def declared() -> dict:
    return json.loads((ROOT / "parameters.json").read_text())["Parameters"]


def documented_rule_parameters() -> dict[str, str]:
    """The parameters table of docs/rule.md: name -> default, in the table's order."""
    names = doc_tables.code_names
    return {
        names(row["parameter"])[0]: json.loads(names(row["default"])[0])
        for row in doc_tables.table("rule", "Parameters")
    }


def test_documented_parameters_and_defaults_are_those_of_parameters_json(declared):
    assert json.loads(declared["InputParameters"]) == {}
    assert list(documented_rule_parameters().items()) == list(
        json.loads(declared["OptionalParameters"]).items()
    )


def test_parameters_json_declares_what_the_code_parses(declared):
    assert tuple(json.loads(declared["OptionalParameters"])) == doc_tables.rule_parameters()


def test_parameters_json_names_the_rule_its_triggers_and_code(declared):
    assert declared["RuleName"] == rule_module.__name__ == RULE_DIR.name
    assert declared["SourceEvents"] == rule_module.RESOURCE_TYPE == "AWS::IAM::User"
    assert declared["SourcePeriodic"] == "TwentyFour_Hours"
    assert declared["CodeKey"] == f"{RULE_DIR.name}.zip"


def test_rule_folder_links_to_the_single_parameters_file():
    link = RULE_DIR / "parameters.json"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "parameters.json").resolve()


def test_every_scenario_has_a_test_and_every_scenario_test_a_scenario():
    scenarios = {
        int(number)
        for number in re.findall(r"^(\d+)\.\s+Given", rule_module.__doc__, flags=re.MULTILINE)
    }
    tested = set()
    for path in Path(__file__).parent.glob("test_rule_*.py"):
        for node in ast.parse(path.read_text()).body:
            match = re.match(r"test_scenario_(\d+)_", getattr(node, "name", ""))
            if isinstance(node, ast.FunctionDef) and match:
                tested.add(int(match.group(1)))
    assert scenarios == set(range(1, len(scenarios) + 1))
    assert tested == scenarios
