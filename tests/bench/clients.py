"""The client processes the benchmark measures, one per run (``python -m tests.bench.clients``).

* ``per-user``: the seed's CLI procedure, ``ListUsers`` (IAM's default pages)
  and then ``ListAttachedUserPolicies`` for every user; prints the names of the
  users with directly attached managed policies as a JSON list.
* ``rule EVENT_FILE [--repeat N]``: the rule's ``lambda_handler`` (its entry file
  loaded as Lambda loads it, the installed package) with the real rdklib client factory,
  ``AssumeRoleMode`` false; prints the evaluations by compliance type and the
  in-process seconds per invocation.
* ``helper PAYLOAD_JSON``: the remediation helper's ``lambda_handler``; prints its result.

Each reads ``AWS_ENDPOINT_URL`` and fake credentials from the environment the
benchmark gives it, so every AWS call goes to the counting server.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path


def per_user() -> None:
    import boto3

    iam = boto3.client("iam")
    names = [
        user["UserName"]
        for page in iam.get_paginator("list_users").paginate()
        for user in page["Users"]
    ]
    with_policies = []
    for name in names:
        pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
        if any(page["AttachedPolicies"] for page in pages):
            with_policies.append(name)
    print(json.dumps(with_policies))


def rule(event_file: str, repeat: int) -> None:
    from no_direct_policies.simulation.lambda_entries import rule_entry

    lambda_handler = rule_entry().lambda_handler

    event = json.loads(Path(event_file).read_text())
    parameters = json.loads(event.get("ruleParameters") or "{}")
    event["ruleParameters"] = json.dumps({**parameters, "AssumeRoleMode": "false"})
    event["resultToken"] = "TESTMODE"
    started = time.perf_counter()
    for _ in range(repeat):
        result = lambda_handler(event, None)
    seconds = (time.perf_counter() - started) / repeat
    kinds = Counter(evaluation["ComplianceType"] for evaluation in result)
    print(json.dumps({"Evaluations": dict(kinds), "SecondsPerInvocation": seconds}))


def helper(payload: str) -> None:
    from no_direct_policies.simulation.lambda_entries import helper_entry

    lambda_handler = helper_entry().lambda_handler

    print(json.dumps(lambda_handler(json.loads(payload), None)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("per-user")
    rule_parser = commands.add_parser("rule")
    rule_parser.add_argument("event_file")
    rule_parser.add_argument("--repeat", type=int, default=1)
    helper_parser = commands.add_parser("helper")
    helper_parser.add_argument("payload")
    args = parser.parse_args()
    if args.command == "per-user":
        per_user()
    elif args.command == "rule":
        rule(args.event_file, args.repeat)
    else:
        helper(args.payload)


if __name__ == "__main__":
    main()
