"""docs/remediation.md's tables restate the helper's payload and result and the SSM document."""

from __future__ import annotations

import doc_tables
from ssm_document import load_document

DOC = "remediation"
PAYLOAD = "The helper's payload and result"


def _names(cells: list[str]) -> list[str]:
    return [name for cell in cells for name in doc_tables.code_names(cell)]


def test_payload_table_lists_exactly_the_helper_payload_keys():
    rows = doc_tables.table(DOC, PAYLOAD, "payload key")
    assert _names(doc_tables.column(rows)) == list(doc_tables.payload_keys())


def test_result_table_lists_exactly_the_result_keys():
    rows = doc_tables.table(DOC, PAYLOAD, "result key")
    assert _names(doc_tables.column(rows)) == [
        "UserName",
        "UserId",
        "Status",
        "Groups",
        "MovedPolicyArns",
        "Actions",
    ]


def test_document_tables_list_its_parameters_with_their_defaults_and_its_steps():
    document = load_document()
    parameters = doc_tables.table(DOC, "The SSM document", "parameter")
    steps = doc_tables.table(DOC, "The SSM document", "step")

    assert [(row["parameter"].strip("`"), row["type"]) for row in parameters] == [
        (name, spec["type"]) for name, spec in document["parameters"].items()
    ]
    for row in parameters:
        spec = document["parameters"][row["parameter"].strip("`")]
        expected = "(required)" if "default" not in spec else f"`{spec['default']}`"
        assert row["default"] == expected.replace("`False`", "`false`").replace("``", '`""`')
    assert _names(doc_tables.column(steps)) == [step["name"] for step in document["mainSteps"]]
    assert [row["action"].strip("`") for row in steps] == [
        step["action"] for step in document["mainSteps"]
    ]
