"""A second Ctrl-C during `remediate --apply` never cuts short what a revocation found
mid-run requires: the take-back, and the message of a take-back IAM keeps refusing."""

from __future__ import annotations

import os
import signal

import pytest
from botocore.exceptions import ClientError
from cli_support import EC2_READ, S3_FULL


def reaching(iam, user_name: str) -> set[str]:
    """Managed policies reaching the user directly or through its groups."""
    arns = {
        p["PolicyArn"]
        for p in iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]
    }
    for group in iam.list_groups_for_user(UserName=user_name)["Groups"]:
        arns |= {
            p["PolicyArn"]
            for p in iam.list_attached_group_policies(GroupName=group["GroupName"])[
                "AttachedPolicies"
            ]
        }
    return arns


# A removal that finds its policy already gone (someone revoked it) owes a take-back
# (plan.py rule 9, last bullet): a second Ctrl-C while the detach is in flight waits for
# the reads that decide it and the take-back itself.
def test_a_second_signal_after_a_removal_found_a_revocation_still_takes_it_back(
    cli, iam, make_user, monkeypatch
):
    from no_direct_policies.move import executor

    make_user("alice", S3_FULL, EC2_READ)  # one group for both; EC2_READ detached first
    original = executor.perform_action
    done: list[bool] = []

    def revoke_during_first_detach(client, action, specs):
        if action["Action"] != "DetachUserPolicy" or done:
            return original(client, action, specs)
        done.append(True)
        iam.detach_user_policy(UserName="alice", PolicyArn=action["PolicyArn"])  # revoked
        try:
            return original(client, action, specs)  # NoSuchEntity: a take-back is owed
        except ClientError:
            os.kill(os.getpid(), signal.SIGINT)  # the operator presses Ctrl-C twice
            os.kill(os.getpid(), signal.SIGINT)
            raise

    monkeypatch.setattr(executor, "perform_action", revoke_during_first_detach)

    run = cli("remediate", "--apply", "--user", "alice", "--format", "json")

    assert done
    assert EC2_READ not in reaching(iam, "alice"), (run.code, run.stderr)


# A take-back IAM keeps refusing stops the run naming the membership that still grants a
# revoked policy and the command that removes it (rule 8); a second Ctrl-C pending does
# not replace that message (the lock's release is not cut short either).
def test_a_second_signal_does_not_swallow_a_failed_take_backs_instructions(
    cli, iam, make_user, monkeypatch
):
    from no_direct_policies.move import executor

    make_user("alice", S3_FULL, EC2_READ)
    monkeypatch.setattr(executor, "TAKE_BACK_DELAYS", (0.0,))
    joined, leave = executor.MoveRun._check_joined, executor.MoveRun._leave_group

    def revoke_then_check(self, group):
        iam.detach_user_policy(UserName="alice", PolicyArn=EC2_READ)  # someone revokes it
        return joined(self, group)

    def refuse(model, **_kwargs):
        raise ClientError({"Error": {"Code": "ServiceFailure", "Message": "down"}}, model.name)

    def ctrl_c_twice_then_leave(self, group, grants):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        self.iam.meta.events.register("before-call.iam.RemoveUserFromGroup", refuse)
        return leave(self, group, grants)

    monkeypatch.setattr(executor.MoveRun, "_check_joined", revoke_then_check)
    monkeypatch.setattr(executor.MoveRun, "_leave_group", ctrl_c_twice_then_leave)

    run = cli("remediate", "--apply", "--user", "alice", "--format", "json")

    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]]
    assert EC2_READ in reaching(iam, "alice")  # the revoked policy still reaches alice
    assert "remove-user-from-group" in run.stderr, run.stderr
    assert "granted nothing" not in run.stderr, run.stderr


@pytest.mark.parametrize("command", ["remediate", "undo"])
def test_a_part_way_stop_says_which_command_finishes_the_user(command):
    import argparse
    import io

    from no_direct_policies.cli import interruption, remediate_command
    from no_direct_policies.compliance import UserPolicies

    args = argparse.Namespace(format="json", apply=True)
    run = remediate_command._RemediationRun(args, io.StringIO(), io.StringIO())
    user = UserPolicies(user_name="alice", user_id="AIDAEXAMPLE000000001", path="/")

    with pytest.raises(interruption.Interrupted) as stopped:
        run.interrupted("SIGINT received twice", [user], None, part_way=True, command=command)

    message = str(stopped.value)
    assert f"run {command} again to finish it" in message
    # Only a move takes a run lock; an undo's message must not send the operator after one.
    assert ("MovedPolicies-lock-AIDAEXAMPLE000000001" in message) == (command == "remediate")
