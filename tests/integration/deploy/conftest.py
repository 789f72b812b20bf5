"""The packaged stack, built once per session for each stage (``make package STAGE=…``)."""

from __future__ import annotations

import json

import pytest

from devstack.package import package


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """``packaged(stage)`` -> the output folder (deployment.zip, sam.json), built on first use."""
    built: dict[str, object] = {}

    def get(stage: str):
        if stage not in built:
            built[stage] = package(stage, tmp_path_factory.mktemp(f"package-{stage}"))
        return built[stage]

    return get


@pytest.fixture(scope="session")
def template(packaged):
    """``template(stage)`` -> the packaged template as data."""
    return lambda stage: json.loads((packaged(stage) / "sam.json").read_text())
