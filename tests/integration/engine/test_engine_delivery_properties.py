"""At-least-once delivery: every doorbell delivered 1–3 times, in any order, yields the same run.

The runner is driven through its message handler (no queue): each doorbell a
step produces is put into a pool 1–3 times, and hypothesis picks which pooled
message is delivered next. The final state of the run must equal the state of
the same run delivered once each in order, and the loopback server must see
at most one call per idempotency key.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.services.workflows.runner import handle_step_message
from chalicelib.services.workflows.runs import start_run
from tests.integration.engine.engine_harness import edge, node, run_status, steps_by_node


def _graph(base_url: str) -> dict[str, Any]:
    """A condition with a skipped branch into a wait_all, a for_each calling out per item, a merge_race."""
    return {
        "nodes": [
            node("start", "start"),
            node("check", "condition", all=[{"left": "{{ v }}", "op": "gt", "right": 0}]),
            node("pos", "transform", output={"sign": "+", "v": "{{ v }}"}),
            node("neg", "transform", output={"sign": "-", "v": "{{ v }}"}),
            node("join", "wait_all"),
            node("each", "for_each", items="{{ items }}"),
            node("call", "http_request", method="POST", url=base_url + "/echo", json={"item": "{{ item }}"}),
            node("pick", "transform", output={"echo": "{{ body.json.item }}"}),
            node("collect", "wait_all"),
            node("ra", "transform", output={"tag": "same"}),
            node("rb", "transform", output={"tag": "same"}),
            node("race", "merge_race"),
            node("end", "end"),
        ],
        "edges": [
            edge("start", "check"), edge("check", "pos", "true"), edge("check", "neg", "false"),
            edge("pos", "join"), edge("neg", "join"), edge("join", "ra"),
            edge("start", "each"), edge("each", "call", "item"), edge("call", "pick"), edge("pick", "collect"),
            edge("collect", "rb"), edge("ra", "race"), edge("rb", "race"), edge("race", "end"),
        ],
    }


def _final_state(tenant_id: str, run_id: str) -> dict[str, Any]:
    """Per node instance: the latest attempt's status and output (HTTP outputs reduced to their body)."""
    state: dict[str, Any] = {"run": run_status(tenant_id, run_id)}
    for node_id, attempts in steps_by_node(tenant_id, run_id).items():
        for attempt in attempts:
            output = attempt["output"]
            if node_id == "call" and output:
                output = output["body"]
            state[f"{node_id}@{attempt['instance_key']}"] = (attempt["status"],
                                                             json.dumps(output, sort_keys=True).replace(run_id, "RUN"))
    return state


_FLOWS: dict[str, dict[str, Any]] = {}


@pytest.fixture
def property_flow(acme, make_flow, loopback, fast_engine):
    from chalicelib.services.workflows import settings as engine_settings

    engine_settings.configure(inline_steps=0)  # every step through a message
    if acme["ws"] not in _FLOWS:  # one flow for all examples
        _FLOWS[acme["ws"]] = make_flow(_graph(loopback.url))
    return _FLOWS[acme["ws"]]


def _deliver_all(acme, flow_id, queue, choose) -> str:
    queue.sent.clear()
    run = start_run(acme["tenant_id"], acme["ws"], flow_id, input={"v": 3, "items": ["a", "b", "c"]})
    pool: list[dict[str, Any]] = []
    for _ in range(500):  # bounded: the run has 16 steps
        while queue.sent:
            body, _delay = queue.sent.pop(0)
            pool.extend([body] * choose.copies())
        if not pool:
            break
        handle_step_message(pool.pop(choose.index(len(pool))))
    assert not pool, "delivery did not settle"
    return run["id"]


_REFERENCE: dict[str, dict[str, Any]] = {}


class _InOrder:
    def copies(self) -> int:
        return 1

    def index(self, size: int) -> int:
        return 0


class _Drawn:
    def __init__(self, data: Any) -> None:
        self.data = data

    def copies(self) -> int:
        return self.data.draw(st.integers(1, 3), label="copies")

    def index(self, size: int) -> int:
        return self.data.draw(st.integers(0, size - 1), label="next")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_duplicated_reordered_delivery_yields_the_same_run(acme, property_flow, memory_queue, loopback, data):
    # GIVEN the run delivered once per doorbell, in order (computed once per flow)
    if property_flow["id"] not in _REFERENCE:
        reference_id = _deliver_all(acme, property_flow["id"], memory_queue, _InOrder())
        _REFERENCE[property_flow["id"]] = _final_state(acme["tenant_id"], reference_id)
    reference = _REFERENCE[property_flow["id"]]
    assert reference["run"] == "success"
    assert reference["join@"] == ("success", json.dumps({"branches": {"pos": {"sign": "+", "v": 3}},
                                                         "skipped": ["neg"]}, sort_keys=True))
    assert reference["neg@"] == ("skipped", "null")
    assert reference["collect@"] == ("success", json.dumps({"items": [{"echo": "a"}, {"echo": "b"},
                                                                      {"echo": "c"}]}, sort_keys=True))
    # WHEN the same run is delivered with duplicates in a drawn order
    run_id = _deliver_all(acme, property_flow["id"], memory_queue, _Drawn(data))
    # THEN it ends in exactly the same state
    assert _final_state(acme["tenant_id"], run_id) == reference
    # AND each outbound call happened once per idempotency key (one per item instance)
    keys = {k: n for k, n in loopback.by_key.items() if k.startswith(run_id)}
    assert sorted(keys) == [f"{run_id}:call@{i}:1" for i in range(3)]
    assert set(keys.values()) == {1}
