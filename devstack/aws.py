"""The AWS side of the local stack: the embedded emulator and idempotent provisioning.

When no ``AWS_ENDPOINT_URL`` is given, moto's server runs on 127.0.0.1 as the
embedded emulator, in a child process of its own (``MotoProcess``). Provisioning creates what the deployed
template creates in AWS — the step queue, its dead-letter queue with the
redrive policy, the KMS key and its alias — and is safe to run repeatedly
against moto or LocalStack.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import boto3

# Kept in step with .chalice/stepline-resources.json (checked by a test).
MAX_RECEIVE_COUNT = 5
STEP_FUNCTION_TIMEOUT_S = 60
VISIBILITY_TIMEOUT_S = 6 * STEP_FUNCTION_TIMEOUT_S
DLQ_RETENTION_S = 14 * 24 * 3600


def start_moto(port: int) -> Any:
    """Start moto's threaded server on 127.0.0.1:``port`` in this process; returns it (``.stop()``)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per emulated AWS call is noise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def die_with_parent() -> None:
    """In a child about to run (``preexec_fn``): be killed when the parent dies, even by ``kill -9``
    (Linux ``PR_SET_PDEATHSIG``), so the stack's processes live and die as one, as a single process did."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the child still exits when its stdin closes
        pass


class MotoProcess:
    """moto's server in a process of its own (``python -m devstack.aws PORT``), as a separate service.

    The emulator does not share the runtime's interpreter lock: its request handling (per call
    several milliseconds of Python) runs beside the gateway and the step workers instead of between
    them. The child exits when this process closes its stdin, or dies.
    """

    def __init__(self, port: int, *, start_timeout: float = 30.0) -> None:
        self.port = port
        self.proc = subprocess.Popen([sys.executable, "-m", "devstack.aws", str(port)], stdin=subprocess.PIPE,
                                     preexec_fn=die_with_parent,
                                     env={**os.environ, "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID",
                                                                                            "testing"),
                                          "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY",
                                                                                  "testing")})
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the AWS emulator did not start on port {port}") from None
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _serve(port: int) -> None:
    """The child of :class:`MotoProcess`: serve until stdin closes (the parent stopped or died)."""
    server = start_moto(port)
    try:
        sys.stdin.buffer.read()
    finally:
        server.stop()


def _client(service: str, endpoint_url: str | None, region: str) -> Any:
    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url)


@dataclass(frozen=True)
class Provisioned:
    step_queue_url: str
    dlq_url: str
    kms_key_id: str | None


def provision(*, endpoint_url: str | None, region: str, step_queue: str, dlq: str,
              kms_alias: str | None) -> Provisioned:
    """Create the queues and the key if missing (no key when ``kms_alias`` is empty); return their identifiers."""
    sqs = _client("sqs", endpoint_url, region)
    dlq_url = sqs.create_queue(QueueName=dlq, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_S)})[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_S),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
    }
    step_url = sqs.create_queue(QueueName=step_queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=step_url, Attributes=attributes)

    if not kms_alias:
        return Provisioned(step_queue_url=step_url, dlq_url=dlq_url, kms_key_id=None)
    kms = _client("kms", endpoint_url, region)
    try:
        key_id = kms.describe_key(KeyId=kms_alias)["KeyMetadata"]["KeyId"]
    except kms.exceptions.NotFoundException:
        key_id = kms.create_key(Description="Stepline connection secrets (key-encryption key)")["KeyMetadata"][
            "KeyId"
        ]
        kms.create_alias(AliasName=kms_alias, TargetKeyId=key_id)
    return Provisioned(step_queue_url=step_url, dlq_url=dlq_url, kms_key_id=key_id)


def set_visibility_timeout(*, endpoint_url: str | None, region: str, queue: str, seconds: int,
                           max_receive_count: int | None = None, dlq: str | None = None) -> None:
    """Shorten timeouts for tests that watch redelivery happen."""
    sqs = _client("sqs", endpoint_url, region)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = {"VisibilityTimeout": str(seconds)}
    if max_receive_count is not None and dlq is not None:
        dlq_url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
        )
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
