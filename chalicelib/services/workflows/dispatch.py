"""Doorbells: the small step-queue messages that say "step X of run Y may be claimed".

They carry ids only (``{"kind": "step", "tenant_id", "run_id", "step_id"}``);
the row in ``step_runs`` is the truth. With SQS they are sent after the
transaction that queued the rows commits, batched by delay; a failed send is
logged and left to the sweeper, which re-dispatches queued rows whose doorbell
is stale. With a transactional queue (the embedded PostgreSQL queue) they are
inserted in that very transaction (:func:`enqueue_in`), so they commit with
the rows they ring for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.adapters.queue import MAX_DELAY_SECONDS as MAX_DELAY_SECONDS  # the runner reads it here
from chalicelib.adapters.queue import clamp_delay
from chalicelib.container import current
from chalicelib.observability import logger
from chalicelib.services.unit_of_work import UnitOfWork

MESSAGE_KIND = "step"


@dataclass(frozen=True)
class Doorbell:
    tenant_id: str
    run_id: str
    step_id: str
    delay: float = 0.0

    def body(self) -> dict[str, str]:
        return {"kind": MESSAGE_KIND, "tenant_id": self.tenant_id, "run_id": self.run_id, "step_id": self.step_id}


def _by_delay(doorbells: Iterable[Doorbell]) -> dict[int, list[dict[str, str]]]:
    groups: dict[int, list[dict[str, str]]] = defaultdict(list)
    for bell in doorbells:
        groups[clamp_delay(bell.delay)].append(bell.body())
    return groups


def enqueue_in(uow: UnitOfWork, doorbells: list[Doorbell]) -> list[Doorbell]:
    """Put the doorbells into ``uow``'s transaction when the queue is transactional; returns those left to
    :func:`send` after commit (all of them with SQS, none with the embedded queue)."""
    queue = current().step_queue()
    if not doorbells or not queue.transactional:
        return doorbells
    for delay, bodies in _by_delay(doorbells).items():
        queue.send_in(uow, bodies, delay_seconds=delay)
    return []


def send(doorbells: Iterable[Doorbell]) -> int:
    """Send the doorbells (one batch call per 10 with the same delay); return how many were accepted.

    Called after every run transaction commits; a transactional queue is told so (its local receivers
    look at once instead of after their idle pause).
    """
    queue = current().step_queue()
    if queue.transactional:
        queue.committed()
    sent = 0
    for delay, bodies in _by_delay(doorbells).items():
        try:
            queue.send_many(bodies, delay_seconds=delay)
            sent += len(bodies)
        except Exception:
            # The rows are committed and queued: the sweeper re-dispatches them once stale.
            logger.exception("doorbells not sent; the sweeper will re-dispatch", extra={"count": len(bodies)})
    return sent
