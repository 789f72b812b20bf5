"""The step function is invoked by the local runtime's poller for a real queue message."""

import json
import time
import uuid

import pytest

from chalicelib import bootstrap
from chalicelib.services import heartbeats
from devstack.aws import set_visibility_timeout
from devstack.runtime import LocalRuntime


def _wait_for(predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def _runtime(local_stack):
    return LocalRuntime(endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
                        region=local_stack.env["AWS_DEFAULT_REGION"], serve_http=False, workers=2).start()


@pytest.fixture
def runtime(local_stack):
    rt = _runtime(local_stack)
    yield rt
    rt.stop()


def test_message_on_step_queue_invokes_step_function(runtime, sqs, local_stack):
    # GIVEN the local runtime polling the step queue
    probe_id = uuid.uuid4().hex
    url = sqs.get_queue_url(QueueName=local_stack.env["STEP_QUEUE_NAME"])["QueueUrl"]
    # WHEN a probe message is sent to the real (emulated) queue
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "probe", "probe_id": probe_id}))
    # THEN the step function ran (it recorded the probe in PostgreSQL) and the message was deleted
    beat = _wait_for(lambda: heartbeats.read(f"probe:{probe_id}"))
    assert beat and beat["count"] == 1
    assert runtime.pollers[0].invocations >= 1
    attrs = _wait_for(lambda: (a := sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]) and all(v == "0" for v in a.values()) and a)
    assert attrs, "message should be deleted after successful handling"


def test_failing_message_is_redelivered_then_dead_lettered(sqs, local_stack):
    # GIVEN a message kind whose handler hits an infrastructure fault every time
    attempts: list[str] = []

    def always_fails(message):
        attempts.append(message["id"])
        raise ConnectionError("database unreachable")

    kinds = {**bootstrap.container().message_kinds, "test_fault": always_fails}
    with bootstrap.replaced(message_kinds=kinds):
        env = local_stack.env
        set_visibility_timeout(endpoint_url=env["AWS_ENDPOINT_URL"], region=env["AWS_DEFAULT_REGION"],
                               queue=env["STEP_QUEUE_NAME"], seconds=1, max_receive_count=3, dlq=env["STEP_DLQ_NAME"])
        # The runtime starts after the change: a receive in flight keeps the visibility timeout it began with.
        runtime = _runtime(local_stack)
        try:
            url = sqs.get_queue_url(QueueName=env["STEP_QUEUE_NAME"])["QueueUrl"]
            dlq_url = sqs.get_queue_url(QueueName=env["STEP_DLQ_NAME"])["QueueUrl"]
            marker = uuid.uuid4().hex
            # WHEN it is sent to the step queue
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "test_fault", "id": marker}))

            # THEN it is redelivered until maxReceiveCount, then lands in the DLQ
            def in_dlq():
                got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=1).get("Messages", [])
                return [m for m in got if marker in m["Body"]]

            dead = _wait_for(in_dlq, timeout=30, interval=0.5)
            assert dead, f"message should have been moved to the dead-letter queue (attempts={attempts})"
            assert attempts.count(marker) == 3
        finally:
            runtime.stop()
            set_visibility_timeout(endpoint_url=env["AWS_ENDPOINT_URL"], region=env["AWS_DEFAULT_REGION"],
                                   queue=env["STEP_QUEUE_NAME"], seconds=360, max_receive_count=5,
                                   dlq=env["STEP_DLQ_NAME"])
