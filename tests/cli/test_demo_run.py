"""``make demo``: the real components end to end, judged by checks of the end state."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import doc_tables
import pytest

from no_direct_policies.simulation import demo_seed

ROOT = Path(__file__).resolve().parents[2]
JOHN_BEFORE = (
    "NON_COMPLIANT   1 managed policy attached directly: AmazonS3FullAccess. "
    "Attach it to a group and add the user to it."
)


@pytest.fixture(scope="module")
def demo_run() -> tuple[subprocess.CompletedProcess[str], float]:
    """One run of the demo as ``make demo`` runs it, in its own process and simulated account."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "no_direct_policies.simulation"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return run, time.monotonic() - started


def _section(stdout: str, heading: str) -> str:
    """The demo's output from ``heading`` to the next numbered heading or the checks."""
    start = stdout.index(heading)
    ends = [stdout.find(f"\n{number}. ", start + 1) for number in range(1, 6)]
    ends.append(stdout.find("\nChecks\n", start))
    return stdout[start : min(end for end in ends if end > start)]


def test_demo_exits_0_within_a_minute(demo_run):
    run, seconds = demo_run

    assert run.returncode == 0, run.stdout + run.stderr
    assert seconds < 60
    assert "Traceback" not in run.stderr


def test_first_evaluation_flags_the_seeds_users(demo_run):
    run, _ = demo_run
    dashboard = _section(run.stdout, "2. Config invokes the rule")

    rows = {line.split()[0]: line for line in dashboard.splitlines() if "AIDA" in line}
    for name in ("john", "david", "mark"):
        assert rows[name].split(None, 2)[2] == JOHN_BEFORE
    assert rows["alice"].split()[2] == "COMPLIANT"
    assert rows["bob"].split()[2] == "COMPLIANT"
    assert rows["breakglass-admin"].split()[2] == "NOT_APPLICABLE"
    assert "12 managed policies attached directly" in rows["ops-automation"]


def test_remediation_moves_through_groups(demo_run):
    run, _ = demo_run
    remediation = _section(run.stdout, "3. Remediation")

    assert remediation.count(": MOVED, groups: ") == 6  # john, david, mark, priya, tom, ops
    assert (
        "DetachUserPolicy UserName=john PolicyArn=arn:aws:iam::aws:policy/AmazonS3FullAccess"
        in remediation
    )
    assert "breakglass-admin" not in remediation


def test_second_evaluation_has_no_noncompliant_user(demo_run):
    run, _ = demo_run
    dashboard = _section(run.stdout, "4. Config evaluates again")

    assert "NON_COMPLIANT" not in dashboard
    assert dashboard.count(" COMPLIANT ") == 8
    assert dashboard.count(" NOT_APPLICABLE ") == 1


def test_final_state_and_checks_are_shown(demo_run):
    run, _ = demo_run

    assert (
        '$ aws iam list-attached-user-policies --user-name john\n{\n    "AttachedPolicies": []\n}'
        in run.stdout
    )
    assert "\nOK: no user lost or gained a policy" in run.stdout
    assert "FAILED" not in run.stdout


def test_checks_fail_when_nothing_was_remediated(iam):
    demo_seed.build_seed(iam)
    before = {
        user.name: demo_seed.effective_policies(iam, user.name) for user in demo_seed.SEED_USERS
    }
    dashboard = {user.name: "COMPLIANT" for user in demo_seed.SEED_USERS}
    dashboard[demo_seed.BREAK_GLASS_USER] = "NOT_APPLICABLE"
    dashboard["john"] = "NON_COMPLIANT"

    problems = demo_seed.end_state_problems(iam, before, dashboard)

    assert problems[0] == "john is NON_COMPLIANT, expected COMPLIANT"
    assert (
        "john still has ['arn:aws:iam::aws:policy/AmazonS3FullAccess'] attached directly"
        in problems
    )
    assert "ops-automation's 12 policies were not split across groups" in problems


def test_checks_catch_a_lost_policy(iam):
    demo_seed.build_seed(iam)
    before = {
        user.name: demo_seed.effective_policies(iam, user.name) for user in demo_seed.SEED_USERS
    }
    iam.detach_user_policy(UserName="bob", PolicyArn=demo_seed.CHANGE_PASSWORD)

    problems = demo_seed.end_state_problems(iam, before, {})

    assert f"bob: policies lost ['{demo_seed.CHANGE_PASSWORD}'], gained []" in problems


_USER_ID = re.compile(r"AIDA[A-Z0-9]{17}")
_DURATION = re.compile(r"finished in [\d.]+ s")


def _comparable(line: str) -> str:
    """A line with what changes from run to run (user IDs, duration) replaced."""
    return _DURATION.sub("finished in N s", _USER_ID.sub("AIDA<id>", line.rstrip()))


def _documented_demo_output() -> list[str]:
    """The lines of the trimmed ``make demo`` output in docs/demo.md (its one text block)."""
    (block,) = doc_tables.code_blocks("demo", "The demo", "text")
    return block.splitlines()


def _is_separator(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) <= {"-", " "}


def test_documented_output_is_the_demos_real_output_trimmed(demo_run):
    run, _ = demo_run
    actual = [_comparable(line) for line in run.stdout.splitlines()]

    # Each documented line appears in the demo's output, in the same order; "..." marks a cut
    # and a separator line may be shorter than the column it underlines.
    position, missing = 0, []
    for line in _documented_demo_output():
        if line.strip() == "...":
            continue
        wanted = _comparable(line)
        found = next(
            (
                index
                for index in range(position, len(actual))
                if actual[index] == wanted
                or (_is_separator(wanted) and actual[index].startswith(wanted))
            ),
            None,
        )
        if found is None:
            missing.append(line)
        else:
            position = found + 1
    assert len(_documented_demo_output()) > 50
    assert missing == []


def test_demo_output_is_coloured_on_a_terminal(tmp_path):
    # A pseudo-terminal as stdout: what `make demo` writes to in a shell.
    primary, secondary = pty.openpty()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "NO_COLOR"
    }
    with (tmp_path / "stderr").open("w") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "no_direct_policies.simulation"],
            cwd=ROOT,
            env=env,
            stdout=secondary,
            stderr=stderr,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the demo closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(primary)
        returncode = demo.wait(timeout=120)
    text = b"".join(chunks).decode()

    assert returncode == 0, (tmp_path / "stderr").read_text()
    assert "\x1b[1m1. The account: users with policies attached directly\x1b[0m" in text
    assert "\x1b[31mNON_COMPLIANT" in text
    assert "\x1b[32mCOMPLIANT" in text
    assert "\x1b[32mOK\x1b[0m: no user lost or gained a policy" in text


def test_demo_ends_by_undoing_one_user_and_the_group_keeps_serving_the_others(demo_run):
    run, _ = demo_run
    undo = run.stdout[run.stdout.index("6. Undo for john") :]

    assert ": RESTORED, groups: MovedPolicies-AmazonS3FullAccess-" in undo
    assert "RestoreUserPolicies -> ReadHelperResult -> VerifyPoliciesRestored" in undo
    assert '"PolicyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"' in undo
    assert '[\n    "david",\n    "mark"\n]' in undo
    assert "\nOK: john has its policies attached directly again" in undo
