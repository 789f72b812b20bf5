"""The embedded PostgreSQL step queue keeps SQS's semantics as the engine and the local poller use them."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from chalicelib.adapters.pg_queue import DLQ_RETENTION_S, MESSAGE_RETENTION_S, PostgresQueueReceiver, PostgresStepQueue
from chalicelib.adapters.queue import StepQueue
from chalicelib.db.database_engine import get_db_engine
from chalicelib.db.uow import system_uow

_OPEN: list[PostgresQueueReceiver] = []


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:8]
    queue, dlq = f"test-q-{suffix}", f"test-dlq-{suffix}"
    yield queue, dlq
    while _OPEN:
        _OPEN.pop().close()
    with system_uow() as uow:
        uow.execute(text("DELETE FROM step_queue_messages WHERE queue IN (:q, :d)"), {"q": queue, "d": dlq})
        uow.commit()


def _receiver(queue: str, dlq: str = "", *, visibility: float = 30, max_receives: int = 3) -> PostgresQueueReceiver:
    receiver = PostgresQueueReceiver(queue, get_db_engine, visibility_timeout=visibility,
                                     max_receive_count=max_receives, dead_letter_queue=dlq)
    _OPEN.append(receiver)
    return receiver


def _bodies(messages):
    return sorted(json.loads(m["Body"])["n"] for m in messages)


def test_sent_messages_are_received_once_until_deleted(names):
    queue, dlq = names
    sender, receiver = PostgresStepQueue(queue, system_uow), _receiver(queue, dlq)
    # GIVEN three messages sent in one batch
    sender.send_many([{"n": i} for i in range(3)])
    assert sender.depth() == 3
    # WHEN they are received
    got = receiver.receive(10)
    # THEN each comes once, with a receive count of 1, and is invisible to the next receive
    assert _bodies(got) == [0, 1, 2]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in got} == {"1"}
    assert receiver.receive(10) == []
    # AND deleting by receipt removes them (with the receiver's next call)
    receiver.delete_message_batch(QueueUrl="", Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                         for i, m in enumerate(got)])
    assert receiver.receive(10) == []
    assert sender.depth() == 0


def test_a_message_not_deleted_comes_back_after_its_visibility_timeout_with_a_new_receipt(names):
    queue, dlq = names
    sender, receiver = PostgresStepQueue(queue, system_uow), _receiver(queue, dlq, visibility=0.3)
    sender.send({"n": 1})
    first = receiver.receive(1)
    assert len(first) == 1
    # WHEN the handler failed (no delete) and the visibility timeout passes
    time.sleep(0.5)
    again = receiver.receive(1)
    # THEN it is delivered again, counted, under a new receipt
    assert len(again) == 1 and again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]
    # AND a late delete with the first receipt does not remove the redelivered message
    receiver.delete([first[0]["ReceiptHandle"]])
    assert receiver.receive(1) == []
    assert sender.depth() == 1
    receiver.delete([again[0]["ReceiptHandle"]])
    receiver.close()
    assert sender.depth() == 0


def test_a_message_received_too_often_moves_to_the_dead_letter_queue(names):
    queue, dlq = names
    sender, receiver = PostgresStepQueue(queue, system_uow), _receiver(queue, dlq, visibility=0, max_receives=2)
    sender.send({"n": 7})
    # GIVEN a message received (and never deleted) as often as the redrive policy allows
    assert len(receiver.receive(1)) == 1
    assert len(receiver.receive(1)) == 1
    # WHEN it is received once more THEN it is not delivered but lands in the dead-letter queue
    assert receiver.receive(1) == []
    assert _bodies(_receiver(dlq).receive(10)) == [7]


def test_a_delayed_message_stays_invisible_for_its_delay(names):
    queue, _ = names
    sender, receiver = PostgresStepQueue(queue, system_uow), _receiver(queue)
    sender.send({"n": 1}, delay_seconds=1)
    assert receiver.receive(10) == []
    # long polling waits for it
    got = receiver.receive_message(QueueUrl="", MaxNumberOfMessages=10, WaitTimeSeconds=3).get("Messages", [])
    assert _bodies(got) == [1]


def test_a_message_sent_inside_a_transaction_exists_only_if_it_commits(names):
    queue, _ = names
    sender, receiver = PostgresStepQueue(queue, system_uow), _receiver(queue)
    # WHEN one transaction sends and rolls back, another sends and commits
    with system_uow() as uow:
        sender.send_in(uow, [{"n": 1}])
        uow.rollback()
    with system_uow() as uow:
        sender.send_in(uow, [{"n": 2}])
        # THEN nobody receives it before the commit …
        assert receiver.receive(10) == []
        uow.commit()
    # … and only the committed one after
    assert _bodies(receiver.receive(10)) == [2]


def test_concurrent_receivers_never_get_the_same_message(names):
    queue, _ = names
    sender = PostgresStepQueue(queue, system_uow)
    sender.send_many([{"n": i} for i in range(60)])
    got: list[int] = []
    lock = threading.Lock()

    def drain() -> None:
        receiver = _receiver(queue)
        while True:
            batch = receiver.receive(3)
            if not batch:
                receiver.close()
                return
            with lock:
                got.extend(_bodies(batch))

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(got) == list(range(60))


def test_idle_pollers_take_turns_so_an_empty_queue_costs_a_few_statements_a_second(names):
    queue, _ = names
    polls: list[float] = []

    class Counting(PostgresQueueReceiver):
        def receive(self, n):
            polls.append(time.monotonic())
            return super().receive(n)

    receiver = Counting(queue, get_db_engine, visibility_timeout=30, max_receive_count=3)
    # GIVEN four poller threads long-polling an empty queue for two seconds
    threads = [threading.Thread(target=receiver.receive_message,
                                kwargs={"QueueUrl": "", "MaxNumberOfMessages": 10, "WaitTimeSeconds": 2})
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    receiver.close()
    # THEN the table was asked about as often as one poller asks it (pauses doubling from MIN_PAUSE up to
    # MAX_PAUSE: ~6 polls in the first 0.3 s, then one per MAX_PAUSE), not four times as often
    one_poller = 7 + 2 / PostgresQueueReceiver.MAX_PAUSE
    assert len(polls) <= one_poller + 4, len(polls)


def test_a_commit_in_this_process_wakes_an_idle_receiver_before_its_pause_ends(names):
    queue, _ = names
    sender = PostgresStepQueue(queue, system_uow)

    class Patient(PostgresQueueReceiver):
        MIN_PAUSE = MAX_PAUSE = 30.0  # an idle receiver would not ask again within the test

    receiver = Patient(queue, get_db_engine, visibility_timeout=30, max_receive_count=3, woken_by=sender.sent)
    _OPEN.append(receiver)
    # GIVEN a receiver that found the queue empty and now pauses
    assert receiver.receive_message(MaxNumberOfMessages=10, WaitTimeSeconds=0) == {}
    got: list[dict] = []
    waiting = threading.Thread(target=lambda: got.append(
        receiver.receive_message(MaxNumberOfMessages=10, WaitTimeSeconds=20)))
    waiting.start()
    time.sleep(0.3)
    # WHEN a sender of this process commits a message
    sender.send({"n": 5})
    waiting.join(15)
    # THEN the receiver got it without waiting out its pause
    assert not waiting.is_alive()
    assert _bodies(got[0]["Messages"]) == [5]


class _PatientCounting(PostgresQueueReceiver):
    """Pauses longer than any test waits, so every poll is a wake or a turn the policy gave; polls counted."""

    MIN_PAUSE = MAX_PAUSE = 30.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.polls: list[tuple[float, int]] = []

    def receive(self, n):
        got = super().receive(n)
        self.polls.append((time.monotonic(), len(got)))
        return got


def _pollers(receiver, count, seconds, got):
    threads = [threading.Thread(target=lambda: got.append(receiver.receive_message(
        MaxNumberOfMessages=10, WaitTimeSeconds=seconds).get("Messages", []))) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def test_a_commit_that_sent_nothing_does_not_wake_the_receivers(names):
    queue, _ = names
    sender = PostgresStepQueue(queue, system_uow)
    receiver = _PatientCounting(queue, get_db_engine, visibility_timeout=30, max_receive_count=3,
                                woken_by=sender.sent)
    _OPEN.append(receiver)
    # GIVEN an idle receiver
    assert receiver.receive_message(MaxNumberOfMessages=10, WaitTimeSeconds=0) == {}
    got: list = []
    [waiting] = _pollers(receiver, 1, 20, got)
    time.sleep(0.2)
    # WHEN a transaction of this process that sent nothing commits
    with system_uow() as uow:
        uow.execute(text("SELECT 1"))
        uow.commit()
    sender.committed()
    time.sleep(0.3)
    # THEN nobody asked the table
    assert len(receiver.polls) == 1
    # WHEN one that sent commits, the receiver gets its message at once
    sender.send({"n": 1})
    waiting.join(10)
    assert not waiting.is_alive() and _bodies(got[0]) == [1] and len(receiver.polls) == 2


def test_a_batch_smaller_than_asked_sends_the_other_pollers_back_to_taking_turns(names):
    queue, _ = names
    sender = PostgresStepQueue(queue, system_uow)
    receiver = _PatientCounting(queue, get_db_engine, visibility_timeout=30, max_receive_count=3,
                                woken_by=sender.sent)
    _OPEN.append(receiver)
    assert receiver.receive_message(MaxNumberOfMessages=10, WaitTimeSeconds=0) == {}
    # GIVEN four pollers waiting on an idle queue
    got: list = []
    threads = _pollers(receiver, 4, 1.5, got)
    time.sleep(0.2)
    # WHEN one message is sent (a wake: one poller asks and gets it, fewer than it asked for)
    sender.send({"n": 1})
    time.sleep(0.8)
    # THEN the others did not ask the table again (they wait their turn; only the end of their wait would)
    found_at = next(t for t, n in receiver.polls if n)
    assert [n for t, n in receiver.polls if t > found_at] == []
    for thread in threads:
        thread.join(10)
    assert sorted(_bodies(g) for g in got if g) == [[1]]


def test_a_full_batch_lets_every_poller_ask_at_once_so_a_backlog_drains_in_parallel(names):
    queue, _ = names

    class OneSecondPause(_PatientCounting):
        MIN_PAUSE = MAX_PAUSE = 1.0

    receiver = OneSecondPause(queue, get_db_engine, visibility_timeout=30, max_receive_count=3)
    _OPEN.append(receiver)
    assert receiver.receive_message(MaxNumberOfMessages=10, WaitTimeSeconds=0) == {}
    # GIVEN a backlog of 25 messages sent by another process (no wake) while three pollers wait their turn
    with system_uow() as uow:
        PostgresStepQueue(queue, system_uow).send_in(uow, [{"n": i} for i in range(25)])
        uow.commit()
    got: list = []
    started = time.monotonic()
    threads = _pollers(receiver, 3, 20, got)
    for thread in threads:
        thread.join(10)
    # WHEN the pause ends, the poller whose turn it is gets a full batch
    # THEN the others ask at once and take the rest: three batches in about one pause, not three pauses
    assert sorted(n for g in got for n in _bodies(g)) == list(range(25))
    assert time.monotonic() - started < 2.5, receiver.polls


def test_messages_past_retention_expire_from_the_queue_and_its_dead_letter_queue(names):
    queue, dlq = names
    sender = PostgresStepQueue(queue, system_uow, dead_letter_queue=dlq)
    other = PostgresStepQueue(f"{queue}-other", system_uow)
    sender.send_many([{"n": i} for i in range(4)])
    PostgresStepQueue(dlq, system_uow).send_many([{"n": 10}, {"n": 11}])
    other.send_many([{"n": 20}])
    # GIVEN one step message older than the queue's retention and one just inside it; the same on the
    # dead-letter queue, whose retention is longer; and an old message of another queue
    ages = {(queue, 0): MESSAGE_RETENTION_S + 60, (queue, 1): MESSAGE_RETENTION_S - 60,
            (dlq, 10): DLQ_RETENTION_S + 60, (dlq, 11): MESSAGE_RETENTION_S + 60,
            (f"{queue}-other", 20): DLQ_RETENTION_S + 60}
    with system_uow() as uow:
        for (name, n), age in ages.items():
            uow.execute(text("UPDATE step_queue_messages SET sent_at = now() - make_interval(secs => :age) "
                             "WHERE queue = :q AND (body->>'n')::int = :n"), {"age": age, "q": name, "n": n})
        uow.commit()
    # WHEN the housekeeping expires messages
    assert sender.expire_messages() == 2
    # THEN only those past their own queue's retention went; another queue's messages are not this queue's
    with system_uow() as uow:
        left = uow.execute(text("SELECT queue, (body->>'n')::int FROM step_queue_messages "
                                "WHERE queue IN (:q, :d, :o) ORDER BY 2"),
                           {"q": queue, "d": dlq, "o": f"{queue}-other"}).all()
        uow.execute(text("DELETE FROM step_queue_messages WHERE queue = :o"), {"o": f"{queue}-other"})
        uow.commit()
    assert [tuple(row) for row in left] == [(queue, 1), (queue, 2), (queue, 3), (dlq, 11), (f"{queue}-other", 20)]
    # AND a queue without an embedded table (SQS) expires nothing by itself
    assert SqsLikeQueue().expire_messages() == 0


class SqsLikeQueue(StepQueue):
    def send_many(self, bodies, *, delay_seconds=0):
        raise AssertionError("not sent")

    def depth(self):
        return 0

    def ping(self):
        return None
