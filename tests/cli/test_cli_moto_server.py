"""The CLI as a user runs it: a separate process talking HTTP to a real ``moto_server``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cli_support import S3_FULL

ROOT = Path(__file__).resolve().parents[2]
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
STARTUP_SECONDS = 30


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server on a free local port, with AWS-managed policies; stopped afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    server = subprocess.Popen(  # noqa: S603 - fixed argv, our own venv's executable
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start on port {port} (exit {server.poll()})")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _iam(moto_server: str) -> Any:
    """A boto3 IAM client on the moto server, as the test's own view of the account."""
    return boto3.client(
        "iam",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "NO_COLOR"
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            **extra,
        }
    )
    return env


def _cli(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "no_direct_policies", *argv],
        cwd=ROOT,
        env=_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_audit_and_remediate_over_http(moto_server):
    iam = _iam(moto_server)
    for name in ("john", "david"):
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=S3_FULL)

    before = _cli("audit", "--format", "json", "--endpoint-url", moto_server)
    applied = _cli("remediate", "--apply", "--format", "json", AWS_ENDPOINT_URL=moto_server)
    after = _cli("audit", "--format", "csv", AWS_ENDPOINT_URL=moto_server)

    assert before.returncode == 1, before.stderr
    assert json.loads(before.stdout)["Summary"] == {
        "COMPLIANT": 0,
        "NON_COMPLIANT": 2,
        "NOT_APPLICABLE": 0,
    }
    assert applied.returncode == 0, applied.stderr
    results = json.loads(applied.stdout)["Results"]
    assert sorted((result["UserName"], result["Status"]) for result in results) == [
        ("david", "MOVED"),
        ("john", "MOVED"),
    ]
    group = results[0]["Groups"][0]
    members = iam.get_group(GroupName=group)["Users"]
    assert sorted(member["UserName"] for member in members) == ["david", "john"]
    assert iam.list_attached_user_policies(UserName="john")["AttachedPolicies"] == []
    assert after.returncode == 0, after.stderr
    assert [line.split(",")[3] for line in after.stdout.splitlines()[1:]] == ["COMPLIANT"] * 2


def test_unreachable_server_is_one_line_and_exit_3(free_port):
    endpoint = f"http://127.0.0.1:{free_port}"

    run = _cli("audit", "--endpoint-url", endpoint, AWS_MAX_ATTEMPTS="1")

    assert run.returncode == 3
    assert run.stdout == ""
    assert run.stderr == (
        f"error: cannot reach the AWS endpoint {endpoint}/: check --endpoint-url / "
        "AWS_ENDPOINT_URL and the network\n"
    )


def _shell(command: str, moto_server: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (``$CLI`` is the tool) in sh, for redirections Python cannot express."""
    return subprocess.run(  # noqa: S603 - fixed argv
        ["/bin/sh", "-c", command],
        cwd=ROOT,
        env=_environment(
            AWS_ENDPOINT_URL=moto_server, CLI=f"{sys.executable} -m no_direct_policies"
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("redirect", "cause"),
    [(">/dev/full", "No space left on device"), (">&-", "standard output is closed")],
)
def test_stdout_full_or_closed_is_one_line_and_exit_6(moto_server, redirect, cause):
    run = _shell(f"$CLI audit --format json {redirect}", moto_server)

    assert run.returncode == 6
    assert run.stderr == (
        f"error: cannot write the report to standard output ({cause}): redirect it to a "
        "file on a disk with free space, or to a pipe\n"
    )


def test_reader_stopping_early_is_quiet_exit_141(moto_server):
    # The reader is gone before the report is written, as `| head -1` is on a long report.
    run = _shell('{ $CLI audit --format csv; echo "exit $?" >&2; } | true', moto_server)

    assert run.stderr == "exit 141\n"  # quiet, as shell tools are when the reader stops


def _users_with_s3(moto_server: str, prefix: str, count: int) -> tuple[Any, list[str]]:
    iam = _iam(moto_server)
    names = [f"{prefix}{index:02}" for index in range(count)]
    for name in names:
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=S3_FULL)
    return iam, names


def _interrupt_apply(moto_server, log: Path, names: list[str], signals: list[int]):
    argv = ["remediate", "--apply", "--log", str(log)]
    for name in names:
        argv += ["--user", name]
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "no_direct_policies", *argv],
        cwd=ROOT,
        env=_environment(AWS_ENDPOINT_URL=moto_server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first_line = process.stdout.readline()  # the first user is done: the run is under way
    for signum in signals:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, first_line + stdout, stderr


def _assert_log_matches_iam(iam, log: Path, names: list[str]) -> set[str]:
    """Every change IAM holds is in the log, and every logged change is in IAM; the
    users whose policies left them, which the log says."""
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert all(line["outcome"] == "ok" for line in lines)
    detached = {line["user_name"] for line in lines if line["action"] == "DetachUserPolicy"}
    joined = {line["user_name"] for line in lines if line["action"] == "AddUserToGroup"}
    for name in names:
        attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
        groups = iam.list_groups_for_user(UserName=name)["Groups"]
        assert (attached == []) == (name in detached), name
        assert (groups != []) == (name in joined), name
        assert name in joined or name not in detached  # never detached before it joined
    return detached


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_apply_between_users_with_the_record(moto_server, tmp_path, signum):
    iam, names = _users_with_s3(moto_server, f"signal{signum}-", 25)
    log = tmp_path / "changes.jsonl"

    code, stdout, stderr = _interrupt_apply(moto_server, log, names, [signum])

    assert code == 130
    assert "Traceback" not in stderr
    name = signal.Signals(signum).name
    assert stderr.startswith(f"error: interrupted ({name} received): stopped between two users; ")
    assert stderr.endswith(f" not started; changes recorded in {log}\n")
    moved = _assert_log_matches_iam(iam, log, names)
    assert 1 <= len(moved) < len(names)
    printed = {line.split(" ")[0] for line in stdout.splitlines() if ": MOVED, groups:" in line}
    assert printed == moved  # every user whose move was made was printed


def test_second_signal_stops_at_an_iam_call_boundary(moto_server, tmp_path):
    iam, names = _users_with_s3(moto_server, "twice-", 25)
    log = tmp_path / "changes.jsonl"

    code, _, stderr = _interrupt_apply(moto_server, log, names, [signal.SIGINT, signal.SIGINT])

    assert code == 130
    assert "Traceback" not in stderr
    assert stderr.startswith("error: interrupted (SIGINT received")
    moved = _assert_log_matches_iam(iam, log, names)
    assert len(moved) < len(names)
    if "stopped part-way" in stderr:  # the user stopped mid-move: its lock is named
        locks = [g["GroupName"] for g in iam.list_groups()["Groups"] if "lock-" in g["GroupName"]]
        for lock in locks:
            assert f"aws iam delete-group --group-name {lock}" in stderr


def _copy_of_the_working_tree(target: Path) -> Path:
    """What a fresh clone holds: the tracked files as they are now, without any venv."""
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z"],  # noqa: S607 - git from PATH, as the developer runs it
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source, copy = ROOT / name, target / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree, not yet committed
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            copy.write_bytes(source.read_bytes())
            copy.chmod(source.stat().st_mode)
    return target


# Stands in for python3 on a fresh machine: every call says something on stdout and on
# stderr, as venv and pip do; `-m venv DIR` makes DIR a virtual environment whose python
# does the same for `-m pip ...` and is this test's interpreter, on the clone's code, for
# everything else, with the console command pip would install.
STUB_PYTHON3 = """#!/bin/sh
echo "python3 $* says this on stdout"
echo "python3 $* says this on stderr" >&2
[ "$1 $2" = "-m venv" ] || exit 3
mkdir -p "$3/bin"
cat >"$3/bin/python" <<'END'
#!/bin/sh
if [ "$1 $2" = "-m pip" ]; then
    echo "pip $* says this on stdout"
    echo "pip $* says this on stderr" >&2
    touch "$(dirname "$0")/pip-ran"
    exit 0
fi
PYTHONPATH={clone} exec {python} "$@"
END
cat >"$3/bin/no-direct-policies" <<'END'
#!/bin/sh
exec "$(dirname "$0")/python" -c \\
    'import sys; from no_direct_policies.cli.main import run; sys.exit(run())' "$@"
END
chmod +x "$3/bin/python" "$3/bin/no-direct-policies"
"""


def test_make_audit_on_a_fresh_clone_writes_only_the_report_to_stdout(moto_server, tmp_path):
    """The first make creates .venv and installs everything: none of that may reach stdout.

    python3 is a stand-in (STUB_PYTHON3) that is as chatty on stdout as venv and pip,
    without their minutes of installing; the audit itself is real, on a moto server.
    """
    clone = _copy_of_the_working_tree(tmp_path / "clone")
    stub = tmp_path / "python3"
    stub.write_text(STUB_PYTHON3.replace("{clone}", str(clone)).replace("{python}", sys.executable))
    stub.chmod(0o755)
    env = {**_environment(AWS_ENDPOINT_URL=moto_server), "MAKEFLAGS": "", "MAKELEVEL": ""}

    done = subprocess.run(  # noqa: S603 - fixed argv, the test's own stand-in python3
        ["make", "--no-print-directory", "audit", "ARGS=--format json", f"PYTHON={stub}"],  # noqa: S607
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Exit 1 (a NON_COMPLIANT user made by another test on this server) is make's exit 2.
    assert done.returncode == 0 or "audit] Error 1" in done.stderr, done.stderr[-2000:]
    # Every setup step ran, its chatter on stderr...
    assert "-m venv .venv says this on stderr" in done.stderr
    assert "pip -m pip install --quiet -r requirements/dev.txt says this on stderr" in done.stderr
    assert (clone / ".venv" / "bin" / "pip-ran").exists()
    assert (clone / ".venv" / ".installed").exists()
    # ...and stdout holds the report alone.
    assert "says this on stdout" not in done.stdout
    report = json.loads(done.stdout or "null")
    assert isinstance(report, dict), (done.stdout[-2000:], done.stderr[-2000:])
    assert set(report) == {"Summary", "Users"}
    version = subprocess.run(  # noqa: S603 - the console command in the clone's venv
        [str(clone / ".venv" / "bin" / "no-direct-policies"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout == "no-direct-policies 1.0.0\n"
