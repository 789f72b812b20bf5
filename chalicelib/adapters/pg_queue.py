"""The embedded step queue: doorbells kept in PostgreSQL (the local stack's default; SQS on AWS and LocalStack).

Why another queue for the local stack: an SQS round trip through botocore and
an emulator costs milliseconds of CPU per message on both sides (send,
receive, delete: three per run), more than the steps it rings for. A row in
the database the step engine already writes to costs one statement, and a
doorbell decided in a run's transaction is **inserted in that transaction**
(:meth:`PostgresStepQueue.send_in`): it exists exactly when the step rows it
rings for do — no send after commit, nothing for the sweeper to repair after
a crash between the two (it still re-rings stale queued steps, as with SQS).

The semantics are SQS's, as the engine and the local poller use them:

- **send**: a message becomes visible after its delay (``DelaySeconds``, at most 900 s);
- **receive** (:class:`PostgresQueueReceiver`): up to ``n`` visible messages, oldest first,
  each made invisible for the visibility timeout with a new receipt and its receive count
  incremented (``FOR UPDATE SKIP LOCKED``: concurrent receivers never get the same message);
  a message already received ``max_receive_count`` times moves to the dead-letter queue
  instead of being delivered again (SQS's redrive policy);
- **delete** by receipt: a message received again since (its visibility timed out) has a
  new receipt, so a late delete of the old delivery does not remove it;
- delivery is at least once; order is not guaranteed. Handlers are idempotent (the claim).

The receiver speaks the subset of the boto3 SQS client the local poller calls
(``receive_message``, ``delete_message_batch``, ``get_queue_url``,
``get_queue_attributes``), so the poller — which turns messages into the
Lambda event the SQS-triggered function gets — is the same for both queues.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text

from chalicelib.adapters.queue import StepQueue, clamp_delay

if TYPE_CHECKING:
    from chalicelib.services.unit_of_work import UnitOfWork

# One statement for any number of messages with one delay; rows travel as one JSON parameter.
_SEND = text(
    """
    INSERT INTO step_queue_messages (queue, body, visible_at)
    SELECT CAST(:queue AS varchar), b, now() + make_interval(secs => :delay)
    FROM jsonb_array_elements(CAST(:bodies AS jsonb)) AS b
    """
)
# Retention as the SQS queues have it (devstack/cloud/queues.py): 4 days on the step queue, 14 days on
# its dead-letter queue; the housekeeping tick deletes older messages, a batch at a time.
MESSAGE_RETENTION_S = 345_600
DLQ_RETENTION_S = 1_209_600
EXPIRY_BATCH = 5_000
_EXPIRE = text(
    """
    DELETE FROM step_queue_messages WHERE id IN (
        SELECT id FROM step_queue_messages
        WHERE (queue = :queue AND sent_at < now() - make_interval(secs => :retention))
           OR (queue = :dlq AND sent_at < now() - make_interval(secs => :dlq_retention))
        LIMIT :batch)
    """
)
# One statement (one round trip, autocommit) receives: it first deletes the messages handled since the
# receiver's last call (deletes ride on the next receive), then moves messages past their receive budget
# to the dead-letter queue and delivers the others (disjoint rows: a message is either moved or delivered).
_RECEIVE = text(
    """
    WITH gone AS (
        DELETE FROM step_queue_messages WHERE receipt = ANY(CAST(:done AS uuid[]))
    ), picked AS (
        SELECT id, receive_count FROM step_queue_messages
        WHERE queue = :queue AND visible_at <= now()
          AND (receipt IS NULL OR receipt <> ALL(CAST(:done AS uuid[])))
        ORDER BY visible_at, id LIMIT :n
        FOR UPDATE SKIP LOCKED
    ), dead AS (
        UPDATE step_queue_messages m
        SET queue = CAST(:dlq AS varchar), visible_at = now(), receipt = NULL
        FROM picked p WHERE m.id = p.id AND p.receive_count >= :max_receives AND CAST(:dlq AS varchar) <> ''
    )
    UPDATE step_queue_messages m
    SET receive_count = m.receive_count + 1, receipt = gen_random_uuid(),
        visible_at = now() + make_interval(secs => :visibility)
    FROM picked p
    WHERE m.id = p.id AND (p.receive_count < :max_receives OR CAST(:dlq AS varchar) = '')
    RETURNING m.id, m.body::text, m.receipt::text, m.receive_count, extract(epoch FROM m.sent_at)
    """
)
_DELETE = text("DELETE FROM step_queue_messages WHERE receipt = ANY(CAST(:receipts AS uuid[]))")
_DEPTH = text("SELECT count(*) FROM step_queue_messages WHERE queue = :queue")


class PostgresStepQueue(StepQueue):
    """The sending side: inserts into ``step_queue_messages`` (in the caller's transaction with :meth:`send_in`)."""

    transactional = True

    def __init__(self, queue_name: str, unit_of_work: Callable[[], UnitOfWork], *,
                 dead_letter_queue: str = "") -> None:
        """``unit_of_work`` opens a system transaction (the queue belongs to no tenant)."""
        self.name = queue_name
        self.dead_letter_queue = dead_letter_queue
        self._uow = unit_of_work
        # Set after a commit that sent: receivers of this process (the local runtime without step-worker
        # processes) stop their idle pause. Receivers in other processes poll.
        self.sent = threading.Event()
        self._sending = threading.local()  # whether this thread's open transaction inserted messages

    def committed(self) -> None:
        """This thread's transaction committed: wake the receivers if it inserted messages (a commit that
        sent nothing would only make an idle receiver ask the table for nothing)."""
        if getattr(self._sending, "sent", False):
            self._sending.sent = False
            self.sent.set()

    def send_in(self, uow: UnitOfWork, bodies: Iterable[dict[str, Any]], *, delay_seconds: float = 0) -> int:
        """Insert the messages in ``uow``'s open transaction: they exist once (and only if) it commits."""
        rows = list(bodies)
        if rows:
            uow.execute(_SEND, {"queue": self.name, "delay": clamp_delay(delay_seconds),
                                "bodies": json.dumps(rows, separators=(",", ":"))})
            self._sending.sent = True
        return len(rows)

    def expire_messages(self) -> int:
        """Delete messages past retention (one batch), on the queue and on its dead-letter queue."""
        with self._uow() as uow:
            deleted = uow.execute(_EXPIRE, {"queue": self.name, "retention": MESSAGE_RETENTION_S,
                                            "dlq": self.dead_letter_queue, "dlq_retention": DLQ_RETENTION_S,
                                            "batch": EXPIRY_BATCH}).rowcount
            uow.commit()
        return int(deleted or 0)

    def send_many(self, bodies: Iterable[dict[str, Any]], *, delay_seconds: int = 0) -> None:
        rows = list(bodies)
        if not rows:
            return
        with self._uow() as uow:
            self.send_in(uow, rows, delay_seconds=delay_seconds)
            uow.commit()
        self.committed()

    def depth(self) -> int:
        with self._uow() as uow:
            return int(uow.execute(_DEPTH, {"queue": self.name}).scalar() or 0)

    def ping(self) -> None:
        """Nothing of its own to reach: the queue is a table of the database, whose health is probed as such
        (``/health`` names the database, once, when it is away)."""
        return None


class PostgresQueueReceiver:
    """The receiving side for the local poller, shaped like the boto3 SQS client calls it makes.

    ``visibility_timeout``, ``max_receive_count`` and ``dead_letter_queue`` are the queue's
    attributes (the same values the SQS queue gets: ``devstack/aws.py``). Each polling thread
    keeps one connection in autocommit, so a receive is one round trip. Long polling
    (``WaitTimeSeconds``) asks the table again after a short pause that grows while it stays
    empty; the pause is shared by every thread of this receiver, so idle pollers cost a few
    statements a second, not a few per thread. A receive that got a full batch lets every
    thread ask again at once (a backlog drains in parallel); one that got fewer found the
    queue drained, so the threads go back to taking turns. A commit of this process that sent
    messages (``woken_by``) ends the pause at once; messages found that way do not shorten the
    pause, since such wakes keep coming while this process sends — messages found by the
    pause itself (sent by another process, or a delay that ended) bring it back to
    ``MIN_PAUSE``.

    A delete is carried out by the receiver's next receive (of any of its threads: at most
    ``MAX_PAUSE`` later while idle) or :meth:`close`. A delete lost with the process is a
    message delivered again after its visibility timeout: a duplicate doorbell, which the
    step's claim makes harmless, as with SQS's own at-least-once delivery.
    """

    MIN_PAUSE, MAX_PAUSE = 0.005, 0.25

    def __init__(self, queue_name: str, db_engine: Callable[[], Engine], *, visibility_timeout: float,
                 max_receive_count: int, dead_letter_queue: str = "", region: str = "local",
                 woken_by: threading.Event | None = None) -> None:
        """``woken_by``: set by a sender of this process after a commit (``PostgresStepQueue.sent``)."""
        self.name = queue_name
        self.visibility_timeout = visibility_timeout
        self.max_receive_count = max_receive_count
        self.dead_letter_queue = dead_letter_queue
        self.region = region
        self._db_engine = db_engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._idle_turn = threading.Lock()
        self._woken_by = woken_by or threading.Event()
        self._pause = self.MIN_PAUSE
        self._next_poll = 0.0
        self._done: list[str] = []
        self._connections: list[Connection] = []

    # -- the SQS client's shape ----------------------------------------------------------------

    def get_queue_url(self, QueueName: str) -> dict[str, str]:  # noqa: N803 - boto3's spelling
        return {"QueueUrl": f"postgresql:///{QueueName}"}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:{self.region}:000000000000:{self.name}"}}

    def receive_message(self, *, MaxNumberOfMessages: int = 1, WaitTimeSeconds: float = 0,  # noqa: N803
                        **_: Any) -> dict[str, Any]:
        """Up to ``MaxNumberOfMessages`` messages; waits up to ``WaitTimeSeconds`` for the first.

        While the queue is found empty, one thread at a time asks it again (after the shared
        pause); the others wait their turn, so idle pollers cost a few statements a second.
        """
        give_up = time.monotonic() + WaitTimeSeconds
        while True:
            with self._lock:
                idle = self._next_poll > 0
            if idle:
                with self._idle_turn:
                    woken = self._wait_turn(give_up)
                    messages = self.receive(MaxNumberOfMessages)
                    self._after_poll(messages, MaxNumberOfMessages, woken=woken)
            else:
                messages = self.receive(MaxNumberOfMessages)
                self._after_poll(messages, MaxNumberOfMessages, woken=False)
            if messages or time.monotonic() >= give_up:
                return {"Messages": messages} if messages else {}

    def delete_message_batch(self, *, Entries: list[dict[str, str]], **_: Any) -> dict[str, Any]:  # noqa: N803
        self.delete([e["ReceiptHandle"] for e in Entries])
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    # -- the queue ------------------------------------------------------------------------------

    def receive(self, n: int) -> list[dict[str, Any]]:
        with self._lock:
            done, self._done = self._done, []
        try:
            rows = self._connection().execute(_RECEIVE, {
                "queue": self.name, "n": max(1, min(n, 10)), "visibility": float(self.visibility_timeout),
                "max_receives": self.max_receive_count, "dlq": self.dead_letter_queue, "done": done,
            }).all()
        except Exception:
            self._drop_connection()
            with self._lock:
                self._done.extend(done)
            raise
        return [{"MessageId": str(row[0]), "ReceiptHandle": row[2], "Body": row[1],
                 "Attributes": {"ApproximateReceiveCount": str(row[3]),
                                "SentTimestamp": str(int(float(row[4]) * 1000))}}
                for row in rows]

    def delete(self, receipts: list[str]) -> None:
        """Delete by receipt, with the next receive."""
        with self._lock:
            self._done.extend(receipts)

    def close(self) -> None:
        """Carry out the deletes still pending and release every thread's connection."""
        with self._lock:
            done, self._done = self._done, []
            connections, self._connections = self._connections, []
        if done:
            with self._db_engine().connect() as conn:
                conn.execute(_DELETE, {"receipts": done})
                conn.commit()
        for conn in connections:
            with contextlib.suppress(Exception):
                conn.close()

    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._db_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
            # The pool's checkout ping ran inside a transaction the driver opened before autocommit was on:
            # end it, or every receive would share its snapshot time (now()) and never commit.
            conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            with contextlib.suppress(Exception):
                conn.invalidate()
                conn.close()

    def _wait_turn(self, give_up: float) -> bool:
        """Wait until this thread may ask the table: one poller per pause, whichever thread comes first.

        The thread that finds the pause over takes the turn at once (it moves the next poll on), so
        pollers that wake together do not all ask; a commit in this process ends the pause (one poll).
        Returns whether a commit ended it.
        """
        woken = False
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self._next_poll - now
                if wait <= 0 or now >= give_up:
                    self._next_poll = now + self._pause
                    return woken
            if self._woken_by.wait(min(wait, give_up - now)):
                self._woken_by.clear()
                woken = True
                with self._lock:
                    self._next_poll = 0.0

    def _after_poll(self, messages: list[dict[str, Any]], asked: int, *, woken: bool) -> None:
        with self._lock:
            if messages and len(messages) >= min(asked, 10):
                self._pause, self._next_poll = self.MIN_PAUSE, 0.0  # maybe more waiting: every thread asks
            elif messages:
                if not woken:
                    self._pause = self.MIN_PAUSE  # found by the pause: senders this process does not hear
                self._next_poll = time.monotonic() + self._pause
            else:
                self._next_poll = time.monotonic() + self._pause
                self._pause = min(self.MAX_PAUSE, self._pause * 2)
