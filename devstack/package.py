"""``python -m devstack.package STAGE OUT``: the deployment package, complete.

``chalice package`` ships only ``app.py``, ``chalicelib/`` and ``vendor/``.
``step_handlers/`` is copied into ``vendor/`` (whose contents Chalice puts at
the zip's root, so ``import step_handlers`` works on Lambda) for the duration
of the build, and ``.chalice/stepline-resources.json`` is merged into the
template: the step queue, its DLQ and redrive policy, the KMS key and alias,
and ``ReportBatchItemFailures`` on the step function's event source.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ("step_handlers",)


def package(stage: str, out: Path) -> Path:
    vendor = ROOT / "vendor"
    copied: list[Path] = []
    try:
        for name in VENDORED:
            target = vendor / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            copied.append(target)
        resources = json.loads((ROOT / ".chalice" / "stepline-resources.json").read_text())["Resources"]
        env = {
            **os.environ,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            # app.py subscribes to the queue the merged template creates, whatever this shell says
            "STEP_QUEUE_NAME": resources["StepQueue"]["Properties"]["QueueName"],
        }
        chalice = Path(sys.executable).parent / "chalice"
        subprocess.run(
            [str(chalice), "package", "--stage", stage, "--merge-template",
             str(ROOT / ".chalice" / "stepline-resources.json"), str(out)],
            cwd=ROOT, env=env, check=True,
        )
    finally:
        for path in copied:
            shutil.rmtree(path, ignore_errors=True)
        if vendor.exists() and not any(vendor.iterdir()):
            vendor.rmdir()
    return out


if __name__ == "__main__":
    stage = sys.argv[1] if len(sys.argv) > 1 else "dev"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "build/package")
    package(stage, out.resolve())
    print(f"Package written to {out}/ (deployment.zip, sam.json)")
