"""``make demo``: the whole product on a simulated account, with nothing re-implemented.

1. Build the seed's situation in an in-process moto account.
2. Run the rule's real ``lambda_handler`` on a Config change event for every
   user and on a scheduled event; show the rule's view on the Config dashboard.
3. Remediate every NON_COMPLIANT user the way Config does: the SSM document's
   steps (``document_runner``) with the helper Lambda's handler in-process.
4. Evaluate again: everyone COMPLIANT or NOT_APPLICABLE.
5. Show the final IAM state as ``aws iam`` would, and check it.
6. Undo the move for one user (the undo's SSM document, the same helper) and
   show, as ``aws iam`` would, its policies attached directly again while the
   shared group keeps serving the others.

Exits 0 only when the checks of the end state pass.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3

from no_direct_policies.cli import output
from no_direct_policies.simulation import config_events, demo_seed
from no_direct_policies.simulation.account import ACCOUNT_ID, REGION, simulated_account
from no_direct_policies.simulation.config_service import ConfigService
from no_direct_policies.simulation.document_run import remediate_resource, restore_resource
from no_direct_policies.simulation.document_runner import StepFailed
from no_direct_policies.simulation.lambda_entries import rule_entry


class _Printer:
    """Writes the demo's sections; headings are bold on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.colour = output.use_colour(stream)

    def heading(self, text: str) -> None:
        bold = f"\x1b[1m{text}\x1b[0m" if self.colour else text
        print(f"\n{bold}\n{'=' * len(text)}", file=self.stream)

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)


def _policy_names(arns: tuple[str, ...], shown: int = 3) -> str:
    names = [arn.rsplit("/", 1)[1] for arn in arns]
    if len(names) > shown:
        return f"{', '.join(names[:shown])}, ... ({len(names)} in all)"
    return ", ".join(names) or "-"


def _user_details(iam: Any) -> list[dict[str, Any]]:
    pages = iam.get_paginator("get_account_authorization_details").paginate(Filter=["User"])
    return [user for page in pages for user in page["UserDetailList"]]


def evaluate(iam: Any, handler: Any) -> None:
    """Invoke the rule as Config would: a change event per user, then a scheduled sweep."""
    for detail in _user_details(iam):
        item = config_events.configuration_item(
            detail, account_id=ACCOUNT_ID, captured_at=datetime.now(UTC)
        )
        event = config_events.change_event(
            item,
            region=REGION,
            rule_parameters=demo_seed.RULE_PARAMETERS,
            notified_at=datetime.now(UTC),
        )
        handler(event, None)
    handler(
        config_events.scheduled_event(
            account_id=ACCOUNT_ID,
            region=REGION,
            rule_parameters=demo_seed.RULE_PARAMETERS,
            notified_at=datetime.now(UTC),
        ),
        None,
    )


def dashboard(config: ConfigService, names: Mapping[str, str]) -> dict[str, str]:
    """User name -> the compliance type Config records for it."""
    return {names[item.resource_id]: item.compliance_type for item in config.latest()}


def _show_dashboard(printer: _Printer, config: ConfigService, names: Mapping[str, str]) -> None:
    rows = [
        (names[item.resource_id], item.resource_id, item.compliance_type, item.annotation)
        for item in config.latest()
    ]
    printer.line(
        output.table(
            ("USER", "RESOURCE ID", "COMPLIANCE", "ANNOTATION"),
            rows,
            colour_column=2,
            colour=printer.colour,
        )
    )


def _show_iam_state(printer: _Printer, iam: Any) -> None:
    for name in ("john", "david", "mark"):  # the seed's own check
        printer.line(f"$ aws iam list-attached-user-policies --user-name {name}")
        attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
        printer.line(json.dumps({"AttachedPolicies": attached}, indent=4))
    rows = []
    for user in demo_seed.SEED_USERS:
        direct = iam.list_attached_user_policies(UserName=user.name)["AttachedPolicies"]
        groups = iam.list_groups_for_user(UserName=user.name)["Groups"]
        rows.append(
            (
                user.name,
                ", ".join(policy["PolicyName"] for policy in direct) or "-",
                ", ".join(group["GroupName"] for group in groups) or "-",
            )
        )
    printer.line()
    printer.line(output.table(("USER", "ATTACHED DIRECTLY", "GROUPS"), rows))
    group_rows = []
    for group in iam.list_groups()["Groups"]:
        name = group["GroupName"]
        policies = iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]
        members = iam.get_group(GroupName=name)["Users"]
        group_rows.append(
            (
                ", ".join(member["UserName"] for member in members),
                _policy_names(tuple(policy["PolicyArn"] for policy in policies)),
                group["Path"] + name,
            )
        )
    printer.line()
    printer.line(output.table(("MEMBERS", "ATTACHED POLICIES", "GROUP"), group_rows))


def run(printer: _Printer) -> int:
    """The demo inside an already simulated account; returns the exit code."""
    iam = boto3.client("iam", region_name=REGION)
    demo_seed.build_seed(iam)
    before = {
        user.name: demo_seed.effective_policies(iam, user.name) for user in demo_seed.SEED_USERS
    }
    names = {detail["UserId"]: detail["UserName"] for detail in _user_details(iam)}
    printer.heading("1. The account: users with policies attached directly")
    printer.line(f"rule parameters: {json.dumps(demo_seed.RULE_PARAMETERS)}")
    printer.line(
        output.table(
            ("USER", "ATTACHED DIRECTLY", "GROUPS", "WHY IT IS HERE"),
            (
                (
                    user.name,
                    _policy_names(user.attached),
                    ", ".join(user.groups) or "-",
                    user.note,
                )
                for user in demo_seed.SEED_USERS
            ),
        )
    )
    config = ConfigService(config_events.RULE_NAME)
    with config.serving():
        printer.heading("2. Config invokes the rule: a change event per user, then a sweep")
        evaluate(iam, rule_entry().lambda_handler)
        _show_dashboard(printer, config, names)
        printer.line(
            f"\n{len(names)} change events and 1 scheduled event; Config API calls by the rule: "
            + ", ".join(
                f"{call} x{config.calls.count(call)}" for call in dict.fromkeys(config.calls)
            )
        )

        printer.heading("3. Remediation: the SSM document and the helper Lambda, per user")
        for item in config.latest():
            if item.compliance_type != "NON_COMPLIANT":
                continue
            try:
                run = remediate_resource(iam, item.resource_id, demo_seed.REMEDIATION_PARAMETERS)
            except StepFailed as error:
                # Config would mark the execution failed; the checks below then fail too.
                printer.line(output.paint(f"FAILED: {error}", "NON_COMPLIANT", printer.colour))
                continue
            printer.line("\n" + output.remediation_block(run.result))
            printer.line(f"  SSM document steps run: {' -> '.join(run.steps)}")

        printer.heading("4. Config evaluates again")
        evaluate(iam, rule_entry().lambda_handler)
        _show_dashboard(printer, config, names)
        final = dashboard(config, names)

    printer.heading("5. IAM afterwards, as the AWS CLI shows it")
    _show_iam_state(printer, iam)
    problems = demo_seed.end_state_problems(iam, before, final)
    printer.heading("Checks")
    if not _report_checks(
        printer,
        problems,
        ": no user lost or gained a policy, no non-exempt policy is attached to a user,"
        " every group is within its quota, and the rule reports no NON_COMPLIANT user.",
    ):
        return 1
    return undo_one_user(printer, iam, names, before)


def _report_checks(printer: _Printer, problems: list[str], passed: str) -> bool:
    """Print each problem as FAILED, or OK and ``passed`` when there is none; True if none."""
    for problem in problems:
        printer.line(output.paint(f"FAILED: {problem}", "NON_COMPLIANT", printer.colour))
    if not problems:
        printer.line(output.paint("OK", "COMPLIANT", printer.colour) + passed)
    return not problems


UNDONE_USER = "john"


def undo_one_user(
    printer: _Printer, iam: Any, names: Mapping[str, str], before: Mapping[str, set[str]]
) -> int:
    """Take the move back for one user and show that its group still serves the others."""
    user_id = next(user_id for user_id, name in names.items() if name == UNDONE_USER)
    (group,) = iam.list_groups_for_user(UserName=UNDONE_USER)["Groups"]
    printer.heading(f"6. Undo for {UNDONE_USER}: the SSM document RestoreIAMUserPoliciesFromGroups")
    try:
        run = restore_resource(iam, user_id)
    except StepFailed as error:
        printer.line(output.paint(f"FAILED: {error}", "NON_COMPLIANT", printer.colour))
        return 1
    printer.line(output.remediation_block(run.result))
    printer.line(f"  SSM document steps run: {' -> '.join(run.steps)}")
    printer.line(f"\n$ aws iam list-attached-user-policies --user-name {UNDONE_USER}")
    attached = iam.list_attached_user_policies(UserName=UNDONE_USER)["AttachedPolicies"]
    printer.line(json.dumps({"AttachedPolicies": attached}, indent=4))
    name = group["GroupName"]
    printer.line(f"$ aws iam get-group --group-name {name} --query 'Users[].UserName'")
    members = [user["UserName"] for user in iam.get_group(GroupName=name)["Users"]]
    printer.line(json.dumps(members, indent=4))
    problems = []
    after = demo_seed.effective_policies(iam, UNDONE_USER)
    if after != before[UNDONE_USER]:
        problems.append(f"{UNDONE_USER} had {sorted(before[UNDONE_USER])}, now {sorted(after)}")
    if {policy["PolicyArn"] for policy in attached} != before[UNDONE_USER]:
        problems.append(f"{UNDONE_USER}'s policies are not all attached directly")
    if not members or UNDONE_USER in members:
        problems.append(f"{name} should serve the others, not {UNDONE_USER}: {members}")
    for member in members:
        if demo_seed.effective_policies(iam, member) != before[member]:
            problems.append(f"{member} lost or gained a policy with the undo")
    passed = (
        f": {UNDONE_USER} has its policies attached directly again, nothing lost or gained;"
        f" {name} still serves {', '.join(members)}."
    )
    return 0 if _report_checks(printer, problems, passed) else 1


def main(stream: TextIO | None = None) -> int:
    """Run the demo on a fresh simulated account; returns the exit code."""
    printer = _Printer(stream or sys.stdout)
    started = time.monotonic()
    with simulated_account():
        code = run(printer)
    printer.line(f"\nDemo finished in {time.monotonic() - started:.1f} s.")
    return code
