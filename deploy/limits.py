"""Config's length limits on the rule's parameters, checked where a user sets a value.

Config refuses a remediation ``StaticValue`` value longer than 256 characters
and a rule's ``InputParameters`` longer than 1,024 characters in all (Config's
API model: ``StringWithCharLimit256``, ``StringWithCharLimit1024``). The
templates pass ``ExemptPolicyArns`` to both, so it is bound by the smaller.
The build checks parameters.json's defaults; the preflight checks
``PARAMETER_OVERRIDES`` before anything is deployed:

    python3 -m deploy.limits "ExemptPolicyArns=arn:... AutomaticRemediation=false"

Standard library only: the preflight runs it before the virtual environment exists.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

from deploy.rule_spec import load_rule_spec  # standard library only, like this module

STATIC_VALUE_MAX = 256
INPUT_PARAMETERS_MAX = 1024

# The rule parameters the templates also pass to the remediation as a StaticValue.
STATIC_VALUE_PARAMETERS = ("ExemptPolicyArns",)
# Parameters the templates add to the rule's InputParameters (rule_resources.RDKLIB_PARAMETERS).
FIXED_INPUT_PARAMETERS = {"AssumeRoleMode": "false"}


def input_parameters_length(values: Mapping[str, str]) -> int:
    """Characters of the rule's InputParameters as JSON (with ", " and ": ", the wider form)."""
    return len(json.dumps({**values, **FIXED_INPUT_PARAMETERS}))


def longest_single_value(names: list[str]) -> int:
    """The most characters one parameter may take when every other one is empty."""
    return INPUT_PARAMETERS_MAX - input_parameters_length(dict.fromkeys(names, ""))


def length_errors(values: Mapping[str, str], where: str) -> list[str]:
    """One message per limit the rule parameters ``values`` break, naming the value and the fix."""
    errors = []
    for name in STATIC_VALUE_PARAMETERS:
        value = values.get(name, "")
        if len(value) > STATIC_VALUE_MAX:
            errors.append(
                f"{where}: {name} is {len(value)} characters; Config accepts at most "
                f"{STATIC_VALUE_MAX} in a remediation parameter. Exempt fewer policies "
                "(see docs/deployment.md, Exempting many policies)."
            )
    total = input_parameters_length(values)
    if total > INPUT_PARAMETERS_MAX:
        longest = max(values, key=lambda name: len(values[name]))
        errors.append(
            f"{where}: the rule's InputParameters would be {total} characters; Config accepts "
            f"at most {INPUT_PARAMETERS_MAX} in all. Shorten {longest} "
            f"({len(values[longest])} characters)."
        )
    return errors


def parse_overrides(overrides: str) -> dict[str, str]:
    """``NAME=VALUE NAME=VALUE`` as ``aws cloudformation deploy --parameter-overrides`` takes it."""
    return dict(item.split("=", 1) for item in overrides.split() if "=" in item)


def main(argv: list[str] | None = None) -> int:
    """Check PARAMETER_OVERRIDES against parameters.json's rule parameters; 2 on a broken limit."""
    args = sys.argv[1:] if argv is None else argv
    spec = load_rule_spec(Path(__file__).resolve().parent.parent / "parameters.json")
    overrides = parse_overrides(args[0] if args else "")
    values = {name: overrides.get(name, default) for name, default in spec.input_parameters.items()}
    errors = length_errors(values, "PARAMETER_OVERRIDES")
    for error in errors:
        print(error, file=sys.stderr)
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
