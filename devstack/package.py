"""``python -m devstack.package STAGE OUT``: the deployment package and the whole stack's template.

``chalice package`` makes the functions, the API and the event sources, and
ships only ``app.py``, ``chalicelib/`` and ``vendor/``. For the duration of the
build ``step_handlers/``, ``migrations/`` and ``alembic.ini`` are copied into
``vendor/`` (whose contents Chalice puts at the zip's root, so ``import
step_handlers`` works on Lambda and the migration function finds its
scripts). Then :func:`devstack.cloud.complete` adds the rest of the stack to
Chalice's template: network, database and proxy, secrets, the migration
function, per-function roles, queues and key, alarms and console hosting.

Chalice builds for the Lambda runtime of the Python it runs on, and picks
wheels for it; so the build runs only on the pinned minor version
(``.chalice/python-version``), which is the one the Makefile's virtualenv uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from devstack import cloud

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ("step_handlers", "migrations", "alembic.ini")


def pinned_python() -> str:
    return (ROOT / ".chalice" / "python-version").read_text().strip()


def runtime() -> str:
    return "python" + pinned_python()


def check_interpreter() -> None:
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if running != pinned_python():
        raise SystemExit(
            f"Packaging runs on Python {pinned_python()} (the Lambda runtime, .chalice/python-version), "
            f"not {running}: use `make package`, whose virtualenv is on {pinned_python()}."
        )


def package(stage: str, out: Path) -> Path:
    if stage not in cloud.STAGES:
        raise SystemExit(f"Unknown stage {stage!r}: one of {', '.join(cloud.STAGES)}")
    check_interpreter()
    settings = cloud.STAGES[stage]
    vendor = ROOT / "vendor"
    copied: list[Path] = []
    try:
        vendor.mkdir(exist_ok=True)
        for name in VENDORED:
            source, target = ROOT / name, vendor / name
            if target.is_dir():
                shutil.rmtree(target)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, target)
            copied.append(target)
        env = {
            **os.environ,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            # app.py subscribes to the queue the stack creates for this stage, whatever this shell says
            "STEP_QUEUE_NAME": cloud.queues.queue_name(settings),
        }
        chalice = Path(sys.executable).parent / "chalice"
        subprocess.run([str(chalice), "package", "--stage", stage, str(out)], cwd=ROOT, env=env, check=True)
    finally:
        for path in copied:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        if vendor.exists() and not any(vendor.iterdir()):
            vendor.rmdir()
    template_path = out / "sam.json"
    template = json.loads(template_path.read_text())
    release = hashlib.sha256((out / "deployment.zip").read_bytes()).hexdigest()[:16]
    cloud.complete(template, settings, release=release)
    template_path.write_text(json.dumps(template, indent=2) + "\n")
    return out


if __name__ == "__main__":
    stage = sys.argv[1] if len(sys.argv) > 1 else "dev"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "build/package")
    package(stage, out.resolve())
    print(f"Package written to {out}/ (deployment.zip, sam.json)")
