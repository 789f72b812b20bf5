"""Step metrics as EMF documents: attempts committed together share a document per dimension set."""

from __future__ import annotations

import json

from chalicelib.services.workflows import metrics


def _documents(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and "_aws" in line]


def test_attempts_committed_together_emit_one_document_per_dimensions_with_every_value(capsys):
    # WHEN a segment's five attempts are reported (three transforms, one failed start, an end)
    metrics.steps_finished([("start", None, "failed", 0.5), ("transform", None, "success", 1.0),
                            ("transform", None, "success", 2.0), ("transform", None, "success", 3.0),
                            ("end", None, "success", 0.25)])
    docs = _documents(capsys.readouterr().out)
    # THEN one document per (type, template, outcome), each attempt a value of its own
    by_type = {(d["StepType"], d["Outcome"]): d for d in docs}
    assert sorted(by_type) == [("end", "success"), ("start", "failed"), ("transform", "success")]
    assert by_type[("transform", "success")]["StepLatency"] == [1.0, 2.0, 3.0]
    assert by_type[("transform", "success")]["StepAttempts"] == [1, 1, 1]
    assert by_type[("start", "failed")]["StepLatency"] == [0.5] and by_type[("start", "failed")]["Template"] == "start"
    metric_names = {m["Name"] for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert metric_names == {"StepLatency", "StepAttempts"}
