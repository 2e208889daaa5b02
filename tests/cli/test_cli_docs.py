"""docs/cli.md's tables restate the command-line tool's options and exit codes."""

from __future__ import annotations

import re

import doc_tables


def test_options_table_lists_every_option_of_the_parser_and_no_other():
    rows = doc_tables.table("cli", "Options")
    documented = {
        option
        for cell in doc_tables.column(rows)
        for name in doc_tables.code_names(cell)
        for option in re.findall(r"^--[a-z-]+", name)
    }

    assert documented == doc_tables.cli_subcommand_options()


def test_exit_code_table_lists_every_exit_code_of_the_tool_and_no_other():
    rows = doc_tables.table("cli", "Exit codes")
    documented = [int(code) for code in doc_tables.column(rows)]

    assert sorted(documented) == documented
    assert set(documented) == set(doc_tables.exit_codes().values())
    assert len(documented) == len(doc_tables.exit_codes())


def test_change_log_table_lists_the_fields_of_a_line_in_order(tmp_path):
    rows = doc_tables.table("cli", "The change log")
    documented = [name for cell in doc_tables.column(rows) for name in doc_tables.code_names(cell)]

    assert documented == doc_tables.change_log_fields(tmp_path)
