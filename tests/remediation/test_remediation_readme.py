"""The README's Remediation section documents exactly the helper's payload and the document."""

from __future__ import annotations

import re

from ssm_document import ROOT, load_document

from no_direct_policies.move.request import PAYLOAD_KEYS

SECTION = (ROOT / "README.md").read_text().split("\n## Remediation\n", 1)[1].split("\n## ", 1)[0]


def _first_column(table_heading: str) -> list[str]:
    """The first cell of each row of the table whose header starts with ``table_heading``."""
    table = SECTION.split(f"| {table_heading} |", 1)[1].split("\n\n", 1)[0]
    rows = table.splitlines()[2:]
    return [row.split("|")[1].strip() for row in rows]


def _names(cells: list[str]) -> list[str]:
    return [name for cell in cells for name in re.findall(r"`(\w+)`", cell)]


def test_payload_table_lists_exactly_the_helper_payload_keys():
    assert _names(_first_column("payload key")) == list(PAYLOAD_KEYS)


def test_result_table_lists_exactly_the_result_keys():
    assert _names(_first_column("result key")) == [
        "UserName",
        "UserId",
        "Status",
        "Groups",
        "MovedPolicyArns",
        "Actions",
    ]


def test_document_tables_list_its_parameters_with_their_defaults_and_its_steps():
    document = load_document()
    table = SECTION.split("| parameter | type | default | allowed |", 1)[1].split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in row.split("|")[1:4]] for row in table.splitlines()[2:]]

    assert [(name.strip("`"), kind) for name, kind, _ in rows] == [
        (name, spec["type"]) for name, spec in document["parameters"].items()
    ]
    for name, _, default in rows:
        spec = document["parameters"][name.strip("`")]
        expected = "(required)" if "default" not in spec else f"`{spec['default']}`"
        assert default == expected.replace("`False`", "`false`").replace("``", '`""`')
    assert _names(_first_column("step")) == [step["name"] for step in document["mainSteps"]]
