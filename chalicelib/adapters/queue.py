"""The step queue port and its SQS adapter.

Messages are small JSON objects carrying ids only; state lives in PostgreSQL.
SQS caps ``DelaySeconds`` at 900: longer waits are the sweeper's job.
"""

from __future__ import annotations

import abc
import json
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_DELAY_SECONDS = 900
_BATCH = 10


class StepQueue(abc.ABC):
    """Where doorbells for steps are sent.

    A *transactional* queue (``transactional = True``) also takes messages inside the caller's
    open database transaction (:meth:`send_in`): they exist once, and only if, it commits.
    """

    transactional = False

    def send_in(self, uow: Any, bodies: Iterable[dict[str, Any]], *, delay_seconds: float = 0) -> int:
        """Send inside ``uow``'s transaction (transactional queues only); returns how many."""
        raise NotImplementedError(f"{type(self).__name__} cannot send inside a database transaction")

    def committed(self) -> None:
        """A transaction that may have sent inside it committed: its messages are visible now (a hint)."""
        return None

    @abc.abstractmethod
    def send_many(self, bodies: Iterable[dict[str, Any]], *, delay_seconds: int = 0) -> None:
        """Send every body (batched where the transport allows)."""

    def send(self, body: dict[str, Any], *, delay_seconds: int = 0) -> None:
        self.send_many([body], delay_seconds=delay_seconds)

    @abc.abstractmethod
    def depth(self) -> int:
        """Approximate number of visible plus in-flight messages."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise if the queue cannot be reached."""

    def expire_messages(self) -> int:
        """Drop messages kept past the queue's retention; returns how many. SQS does this by itself."""
        return 0


def clamp_delay(seconds: float) -> int:
    """``DelaySeconds`` for a wait: rounded up (never early), at most the queue's maximum."""
    return max(0, min(MAX_DELAY_SECONDS, math.ceil(seconds - 1e-6))) if seconds > 0 else 0


class SqsStepQueue(StepQueue):
    """SQS through boto3; the queue URL is looked up by name once."""

    def __init__(self, sqs_client: Any, queue_name: str) -> None:
        self._sqs = sqs_client
        self._name = queue_name
        self._url: str | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._url is None:
            with self._lock:
                if self._url is None:
                    self._url = self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"]
        return self._url

    def send_many(self, bodies: Iterable[dict[str, Any]], *, delay_seconds: int = 0) -> None:
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(body, separators=(",", ":")),
             "DelaySeconds": clamp_delay(delay_seconds)}
            for i, body in enumerate(bodies)
        ]
        for start in range(0, len(entries), _BATCH):
            chunk = entries[start:start + _BATCH]
            if len(chunk) == 1:
                self._sqs.send_message(
                    QueueUrl=self.url, MessageBody=chunk[0]["MessageBody"],
                    DelaySeconds=chunk[0]["DelaySeconds"],
                )
                continue
            result = self._sqs.send_message_batch(QueueUrl=self.url, Entries=chunk)
            failed = result.get("Failed") or []
            if failed:
                retry = [e for e in chunk if e["Id"] in {f["Id"] for f in failed}]
                result = self._sqs.send_message_batch(QueueUrl=self.url, Entries=retry)
                if result.get("Failed"):
                    raise QueueSendFailed(f"{len(result['Failed'])} message(s) not accepted by the queue")

    def depth(self) -> int:
        attrs = self._sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def ping(self) -> None:
        self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])


class QueueSendFailed(Exception):
    """The queue refused messages after one retry (the sweeper will re-dispatch)."""


@dataclass
class InMemoryStepQueue(StepQueue):
    """A fake for unit tests: remembers what was sent, in order."""

    sent: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def send_many(self, bodies: Iterable[dict[str, Any]], *, delay_seconds: int = 0) -> None:
        self.sent.extend((dict(b), clamp_delay(delay_seconds)) for b in bodies)

    def depth(self) -> int:
        return len(self.sent)

    def ping(self) -> None:
        return None
