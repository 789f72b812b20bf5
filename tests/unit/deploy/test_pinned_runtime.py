"""The Lambda runtime is chosen on purpose, and the packaging refuses to build for another Python."""

import subprocess
import sys
from pathlib import Path

import pytest

from devstack import package

ROOT = Path(__file__).resolve().parents[3]


def test_pinned_version_is_a_current_lambda_runtime_and_the_tests_run_on_it():
    assert package.pinned_python() in ("3.12", "3.13")
    assert package.runtime() == "python" + package.pinned_python()
    # the local stack and the tests run on the same minor version (the Makefile's venv)
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" == package.pinned_python()


def test_packaging_on_another_python_is_refused(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 11, 7, "final", 0))
    with pytest.raises(SystemExit, match="Packaging runs on Python 3.1[23]"):
        package.check_interpreter()


def test_the_makefile_finds_the_pinned_interpreter():
    found = subprocess.run(["bash", str(ROOT / "devstack" / "find-python.sh"), package.pinned_python()],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert found, "no interpreter of the pinned version on this machine"
    version = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == package.pinned_python()
