"""The README's command-line section documents exactly the options the parser has."""

from __future__ import annotations

import re
from pathlib import Path

from no_direct_policies.cli import errors
from no_direct_policies.cli.main import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def _parser_options() -> set[str]:
    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command")
    return {
        option
        for subparser in commands.choices.values()
        for action in subparser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def test_readme_documents_every_option_and_no_other():
    documented = set(re.findall(r"`(--[a-z-]+)", _section("Command-line tool")))

    assert documented == _parser_options()


def test_readme_lists_the_exit_codes_of_the_cli():
    table = _section("Command-line tool")
    for code in (
        errors.EXIT_OK,
        errors.EXIT_NONCOMPLIANT,
        errors.EXIT_USAGE,
        errors.EXIT_AWS_ERROR,
        errors.EXIT_REFUSED,
        errors.EXIT_STOPPED,
        errors.EXIT_OUTPUT_ERROR,
        errors.EXIT_INTERRUPTED,
    ):
        assert f"\n| {code} | " in table
