"""`chalice package` output: step_handlers/ in the zip, queues, DLQ and batch failures in the template."""

import json
import zipfile

import pytest

from devstack import aws
from devstack.package import package


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    package("dev", out)
    return out


def test_zip_contains_app_chalicelib_and_step_handlers(built):
    names = zipfile.ZipFile(built / "deployment.zip").namelist()
    assert "app.py" in names
    assert any(n.startswith("chalicelib/") for n in names)
    assert "step_handlers/__init__.py" in names
    assert not any("__pycache__" in n for n in names if n.startswith("step_handlers/"))


def test_template_creates_queue_dlq_redrive_and_reports_batch_failures(built):
    resources = json.loads((built / "sam.json").read_text())["Resources"]
    queue = resources["StepQueue"]["Properties"]
    dlq = resources["StepDeadLetterQueue"]["Properties"]
    step = resources["Step"]
    # the queue Chalice subscribes the step function to is the one the template creates
    subscribed = step["Properties"]["Events"]["StepSqsEventSource"]["Properties"]
    assert subscribed["Queue"]["Fn::Sub"].endswith(":" + queue["QueueName"])
    assert subscribed["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "StepQueue" in step["DependsOn"]
    # redrive to the DLQ after at least 5 receives
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["StepDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert dlq["QueueName"] == queue["QueueName"] + "-dlq"
    # visibility timeout at least 6x the step function's timeout
    assert queue["VisibilityTimeout"] >= 6 * step["Properties"]["Timeout"]
    # the local provisioning mirrors the deployed template
    assert aws.VISIBILITY_TIMEOUT_S == queue["VisibilityTimeout"]
    assert aws.MAX_RECEIVE_COUNT == queue["RedrivePolicy"]["maxReceiveCount"]
    assert step["Properties"]["Timeout"] == aws.STEP_FUNCTION_TIMEOUT_S
    # the scheduled tick and the key exist
    assert resources["Tick"]["Properties"]["Events"]["TickEvent"]["Properties"]["Schedule"] == "rate(1 minute)"
    assert resources["ConnectionKeyAlias"]["Properties"]["AliasName"] == "alias/stepline-connections"
