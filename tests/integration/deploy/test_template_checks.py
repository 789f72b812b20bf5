"""cfn-lint and checkov on the freshly packaged templates of both stages (tools from ``make iac-tools``).

cfn-lint: no errors (warnings about parameters that may be empty are expected).
checkov: no failed check at all. Checkov's open-source rules carry no severity
without a vendor account, so every finding counts; the ones accepted on
purpose are skipped on the resource itself with the reason
(``Metadata.checkov.skip``), and this test requires every skip to have one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / ".venv-iac" / "bin"
STAGES = ("dev", "prod")


def _tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        if os.environ.get("STEPLINE_REQUIRE_IAC_TOOLS"):
            pytest.fail(f"{path} is missing: `make iac-tools` installs it")
        pytest.skip(f"{name} not installed (`make iac-tools`; `make test` runs this check)")
    return path


def _offline_env() -> dict[str, str]:
    # checkov asks its vendor's API for guidelines unless told not to; nothing leaves the machine
    return {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}


def test_cfn_lint_reports_no_errors(packaged):
    cfn_lint = _tool("cfn-lint")
    templates = [str(packaged(stage) / "sam.json") for stage in STAGES]
    result = subprocess.run([str(cfn_lint), "--format", "json", *templates],
                            capture_output=True, text=True, timeout=300)
    findings = json.loads(result.stdout or "[]")
    errors = [f"{f['Rule']['Id']} {f['Message']} ({f['Location']['Path']})" for f in findings if f["Level"] == "Error"]
    assert not errors, "\n".join(errors)
    assert result.returncode & 2 == 0  # cfn-lint's exit bit for errors


def test_checkov_finds_nothing_and_every_skip_says_why(packaged, template):
    checkov = _tool("checkov")
    args = [str(checkov), "--framework", "cloudformation", "--output", "json", "--quiet", "--skip-download"]
    for stage in STAGES:
        args += ["-f", str(packaged(stage) / "sam.json")]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, env=_offline_env())
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [f"{c['check_id']} {c['resource']} {c['file_path']}"
              for report in reports for c in report["results"]["failed_checks"]]
    assert not failed, "\n".join(failed)
    assert sum(report["summary"]["passed"] for report in reports) > 100  # it really looked
    for stage in STAGES:
        for logical, resource in template(stage)["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip.get("comment", "")) > 20, (logical, skip)
