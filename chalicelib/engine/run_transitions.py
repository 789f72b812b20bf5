"""Which operations a run's state allows: cancel it, resume it from its failed step, redrive a quarantined step.

Pure decisions on values the service read under the run's lock (``services/workflows/runs.py``); the
service then writes what was decided with compare-and-set updates. Each refusal is a 409 with a stable code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chalicelib.errors import Conflict, ValidationFailed

RUNNING = "running"
CANCELED = "canceled"
RESUMABLE = ("failed", CANCELED)  # a rerun may resume these from their failed step(s)
QUARANTINED = "quarantined"


class RunNotActive(Conflict):
    """The run has already finished; the operation needs it running (or failed, for a resume)."""

    code = "run_state_conflict"


class AlreadyRedriven(Conflict):
    """The quarantined step was redriven, or attempted again, since it was quarantined."""

    code = "already_redriven"


def check_cancel(run_status: str) -> None:
    """Only a running run can be canceled."""
    if run_status != RUNNING:
        raise RunNotActive(f"The run has already finished ({run_status}).")


def check_resume(run_status: str, *, version: str) -> None:
    """A rerun from the failed step: the run failed or was canceled, and the same version runs again."""
    if run_status not in RESUMABLE:
        raise RunNotActive("Only a failed or canceled run can be resumed from its failed step.")
    if version != "same":
        raise ValidationFailed("Resuming from the failed step needs the same version.",
                               details=[{"path": "/version", "issue": "must be 'same' with from=failed"}])


def check_node_rerun(run_status: str) -> None:
    """A rerun from a chosen node: the run has finished, so the inputs its nodes received are final."""
    if run_status == RUNNING:
        raise RunNotActive("The run is still running: re-run from a node once it has finished.")


@dataclass(frozen=True)
class Redrive:
    """What a redrive does: queue ``attempt`` of the step, and reopen the run first when it had ended."""

    attempt: int
    reopen: bool


def plan_redrive(*, quarantine_status: str, quarantined_step_id: str, latest_step_id: str | None,
                 latest_attempt: int, run_status: str, deadline: dt.datetime | None, now: dt.datetime) -> Redrive:
    """One more attempt of a quarantined step, if it is still the step's latest attempt and the run may go on."""
    if quarantine_status != QUARANTINED:
        raise AlreadyRedriven("This step was already redriven.")
    if latest_step_id is None or latest_step_id != quarantined_step_id:
        raise AlreadyRedriven("The step has been attempted again since it was quarantined.")
    if run_status == CANCELED:
        raise RunNotActive("The run was canceled.")
    if deadline is not None and deadline <= now:
        raise RunNotActive("The run's deadline has passed; rerun it instead.")
    return Redrive(attempt=latest_attempt + 1, reopen=run_status != RUNNING)
