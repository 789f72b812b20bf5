"""Polls each ``on_sqs_message`` queue and invokes its handler with Lambda-shaped events.

Semantics follow the Lambda event source mapping: a batch is received, the
handler is invoked once with an SQS event; on success the messages are deleted;
when the handler raises, nothing is deleted, so the visibility timeout, the
receive count and the queue's redrive policy (DLQ) behave as on AWS. When the
handler returns ``{"batchItemFailures": [...]}`` (``ReportBatchItemFailures``),
only the listed messages are kept.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice.local import LambdaContext

from chalicelib.observability import logger


@dataclass(frozen=True)
class SqsSubscription:
    name: str
    queue_name: str
    batch_size: int
    handler: Callable[[dict[str, Any], Any], Any]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda gives an SQS-triggered function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class QueuePoller:
    """``workers`` threads, each a receive → invoke → delete loop (like concurrent Lambdas)."""

    def __init__(self, sqs: Any, subscription: SqsSubscription, *, region: str, workers: int = 4,
                 wait_seconds: int = 1) -> None:
        self.sqs = sqs
        self.sub = subscription
        self.region = region
        self.workers = workers
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.invocations = 0
        self.failures = 0
        url = sqs.get_queue_url(QueueName=subscription.queue_name)["QueueUrl"]
        self.queue_url = url
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def start(self) -> QueuePoller:
        for i in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"poller-{self.sub.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.wait_seconds + 30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("poller error", extra={"queue": self.sub.queue_name})
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.sub.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        event = sqs_event(received, self.queue_arn, self.region)
        context = LambdaContext(function_name=self.sub.name, memory_size=512, max_runtime_ms=60_000)
        context.aws_request_id = str(uuid.uuid4())
        self.invocations += 1
        try:
            result = self.sub.handler(event, context)
        except Exception:
            # As on AWS: the whole batch becomes visible again after the visibility timeout.
            self.failures += 1
            logger.exception("sqs handler raised; messages left for redelivery",
                             extra={"queue": self.sub.queue_name, "count": len(received)})
            return len(received)
        keep = set()
        if isinstance(result, dict):
            keep = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        done = [m for m in received if m["MessageId"] not in keep]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return len(received)
