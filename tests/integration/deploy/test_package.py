"""`make package`: the zip holds what every function imports, built for the pinned runtime."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from devstack import aws as local_provisioning
from devstack.package import pinned_python, runtime

ROOT = Path(__file__).resolve().parents[3]


def _names(packaged, stage="prod"):
    return zipfile.ZipFile(packaged(stage) / "deployment.zip").namelist()


def test_zip_holds_the_code_handlers_and_migrations(packaged):
    names = _names(packaged)
    assert "app.py" in names and "chalicelib/deployment/handler.py" in names
    assert "step_handlers/__init__.py" in names
    assert "alembic.ini" in names and "migrations/env.py" in names
    shipped = {n for n in names if n.startswith("migrations/versions/") and n.endswith(".py")}
    local = {f"migrations/versions/{p.name}" for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert shipped == local
    assert not any("__pycache__" in n for n in names if n.startswith(("step_handlers/", "migrations/")))


def test_every_runtime_requirement_is_in_the_zip_built_for_the_pinned_python(packaged):
    names = _names(packaged)
    normal = lambda text: re.sub(r"[-_.]+", "-", text).lower()  # noqa: E731  (PEP 503 names)
    shipped = {normal(n.split("/")[0].removesuffix(".dist-info").rsplit("-", 1)[0])
               for n in names if n.split("/")[0].endswith(".dist-info")}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = normal(re.split(r"[\[=<>~ ;]", line)[0])
            assert requirement in shipped, f"{requirement} missing from the zip (no wheel for {runtime()}?)"
    # extension modules are for the pinned minor version (or the stable ABI), never the packaging machine's;
    # plain shared libraries (py_mini_racer's V8) do not depend on the Python version
    tag = ".cpython-" + pinned_python().replace(".", "")
    extensions = [n for n in names if n.endswith(".so") and (".cpython-" in n or ".abi3." in n)]
    assert extensions and all(tag in n or ".abi3." in n for n in extensions), extensions


def test_every_function_runs_on_the_pinned_runtime(template):
    for stage in ("dev", "prod"):
        functions = {k: v for k, v in template(stage)["Resources"].items()
                     if v["Type"] == "AWS::Serverless::Function"}
        assert set(functions) == {"APIHandler", "Step", "Tick", "Migrate"}
        assert {f["Properties"]["Runtime"] for f in functions.values()} == {runtime()}
        assert pinned_python() in ("3.12", "3.13")


def test_queue_dlq_redrive_and_batch_failures(template):
    resources = template("prod")["Resources"]
    queue, dlq = resources["StepQueue"]["Properties"], resources["StepDeadLetterQueue"]["Properties"]
    step = resources["Step"]["Properties"]
    source = step["Events"]["StepSqsEventSource"]["Properties"]
    assert source["Queue"] == {"Fn::GetAtt": ["StepQueue", "Arn"]}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["StepDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert dlq["QueueName"] == queue["QueueName"] + "-dlq"
    assert queue["VisibilityTimeout"] >= 6 * step["Timeout"]
    # the local provisioning mirrors the deployed template
    assert local_provisioning.VISIBILITY_TIMEOUT_S == queue["VisibilityTimeout"]
    assert local_provisioning.MAX_RECEIVE_COUNT == queue["RedrivePolicy"]["maxReceiveCount"]
    assert step["Timeout"] == local_provisioning.STEP_FUNCTION_TIMEOUT_S
    assert resources["Tick"]["Properties"]["Events"]["TickEvent"]["Properties"]["Schedule"] == "rate(1 minute)"
