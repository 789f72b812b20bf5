"""Which operations a run's state allows (``chalicelib/engine/run_transitions.py``): cancel, resume, redrive.
The services apply them under the run's lock (tests/integration/engine run them through the API)."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.engine.run_transitions import (
    AlreadyRedriven,
    Redrive,
    RunNotActive,
    check_cancel,
    check_node_rerun,
    check_resume,
    plan_redrive,
)
from chalicelib.errors import ValidationFailed

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
STEP = "step-3"


def _redrive(**given) -> Redrive:
    facts = {"quarantine_status": "quarantined", "quarantined_step_id": STEP, "latest_step_id": STEP,
             "latest_attempt": 3, "run_status": "failed", "deadline": None, "now": NOW, **given}
    return plan_redrive(**facts)


def test_only_a_running_run_can_be_canceled():
    check_cancel("running")
    for finished in ("success", "failed", "canceled"):
        with pytest.raises(RunNotActive) as refused:
            check_cancel(finished)
        assert refused.value.status == 409 and refused.value.code == "run_state_conflict"
        assert finished in refused.value.message


@pytest.mark.parametrize("status", ["failed", "canceled"])
def test_a_failed_or_canceled_run_resumes_from_its_failed_step_with_the_same_version(status):
    check_resume(status, version="same")
    with pytest.raises(ValidationFailed) as refused:
        check_resume(status, version="latest")
    assert refused.value.details == [{"path": "/version", "issue": "must be 'same' with from=failed"}]


@pytest.mark.parametrize("status", ["running", "success"])
def test_a_running_or_successful_run_cannot_resume(status):
    with pytest.raises(RunNotActive):
        check_resume(status, version="same")


@pytest.mark.parametrize("status", ["success", "failed", "canceled"])
def test_a_finished_run_reruns_from_a_chosen_node_in_any_outcome(status):
    check_node_rerun(status)


def test_a_running_run_does_not_rerun_from_a_node():
    with pytest.raises(RunNotActive) as refused:
        check_node_rerun("running")
    assert refused.value.code == "run_state_conflict"


def test_a_redrive_queues_the_next_attempt_and_reopens_a_finished_run():
    # GIVEN the quarantined step is still the latest attempt of its failed run
    # THEN the next attempt is queued and the run becomes running again
    assert _redrive() == Redrive(attempt=4, reopen=True)
    # AND a run still running (other branches) is not reopened
    assert _redrive(run_status="running") == Redrive(attempt=4, reopen=False)
    # AND a deadline still ahead does not stop it
    assert _redrive(deadline=NOW + dt.timedelta(seconds=1)).attempt == 4


def test_a_step_redriven_or_attempted_again_is_not_redriven_twice():
    with pytest.raises(AlreadyRedriven) as twice:
        _redrive(quarantine_status="redriven")
    assert twice.value.code == "already_redriven" and twice.value.status == 409
    with pytest.raises(AlreadyRedriven):
        _redrive(latest_step_id="step-4")
    with pytest.raises(AlreadyRedriven):
        _redrive(latest_step_id=None)


def test_a_canceled_run_or_one_past_its_deadline_is_not_redriven():
    with pytest.raises(RunNotActive, match="canceled"):
        _redrive(run_status="canceled")
    with pytest.raises(RunNotActive, match="deadline"):
        _redrive(deadline=NOW)
