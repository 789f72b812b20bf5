"""Request (``extra="forbid"``) and response models of the workflow and run routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel, model_validator

from chalicelib.api.contract import JsonObject, Out, Timestamp, page_of
from chalicelib.api.models import UUID, Body
from chalicelib.engine.retry import MAX_RUN_SECONDS
from chalicelib.services.triggers.kinds import kind_names
from chalicelib.services.triggers.kinds.manual import API_START
from chalicelib.services.triggers.models import RegisteredName
from chalicelib.services.workflows.runs import RERUN

FlowStatus = Literal["draft", "test", "production"]
EnvValue = str | int | float | bool


class SecretRef(Body):
    """A secret resolved at run time from a connection's field; its value is never stored with a run."""

    connection_id: str = Field(pattern=UUID)
    field: str = Field(min_length=1, max_length=100)


class FlowSettings(Body):
    description: str | None = Field(None, max_length=5000)
    status: FlowStatus | None = None
    enabled: bool | None = None
    start_payload: dict[str, Any] | None = None
    input_schema: dict[str, Any] | None = None
    env: dict[str, EnvValue] | None = Field(None, max_length=100)
    secrets: dict[str, SecretRef] | None = Field(None, max_length=100)
    run_timeout_seconds: float | None = Field(None, gt=0, le=MAX_RUN_SECONDS)


class CreateFlowBody(FlowSettings):
    title: str = Field(min_length=1, max_length=200)
    graph: dict[str, Any] | None = None


class UpdateFlowBody(FlowSettings):
    title: str | None = Field(None, min_length=1, max_length=200)


class GraphDocument(RootModel[dict[str, Any]]):
    """A workflow graph: ``{"nodes": [...], "edges": [...]}`` (see docs/workflows.md); validated as a whole,
    with a JSON pointer to each failing node or edge."""


class PublishBody(Body):
    note: str = Field("", max_length=500)


class StartRunBody(Body):
    mode: Literal["test", "production"] = "test"
    input: Any = None
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="Default: the latest published version.")


class RerunBody(Body):
    from_: Literal["start", "failed", "node"] = Field(
        "start", alias="from",
        description="start: the whole graph again; failed: resume at the failed step(s); node: at ``node_id`` with "
                    "the input it received in the prior run.")
    version: Literal["same", "latest"] = "same"
    node_id: str | None = Field(None, min_length=1, max_length=64,
                                description="With from=node (and only then): the node the new run starts at.")

    @model_validator(mode="after")
    def _node_with_from_node(self) -> RerunBody:
        if (self.from_ == "node") != (self.node_id is not None):
            raise ValueError("node_id is required with from=node, and only then")
        return self


def settings_fields(body: FlowSettings) -> dict[str, Any]:
    """The fields the caller set, as plain data (``None`` clears nullable ones)."""
    fields = body.model_dump(exclude_unset=True, by_alias=False)
    for required in ("title", "status", "enabled", "env", "secrets", "start_payload", "description"):
        if fields.get(required, "") is None:
            fields.pop(required)
    return fields


# --- responses --------------------------------------------------------------------------------------

RunStatus = Literal["running", "success", "failed", "canceled"]
RunMode = Literal["test", "production"]
# What started a run: a trigger of one of the process's kinds, a rerun, or the API by a key.
RunTrigger = Annotated[str, RegisteredName(lambda: (*kind_names(), RERUN, API_START))]
# The same, read back from a run (its kind may be one the deployment no longer has).
StoredRunTrigger = Annotated[str, RegisteredName(lambda: (*kind_names(), RERUN, API_START), stored=True)]
StepStatus = Literal["queued", "running", "success", "failed", "skipped", "canceled"]


class Flow(Out):
    id: str
    workspace_id: str
    title: str
    description: str
    status: FlowStatus
    enabled: bool
    graph: JsonObject | None = Field(description="The draft graph (nodes and edges); null until one is saved.")
    start_payload: Any
    input_schema: JsonObject | None
    env: dict[str, EnvValue]
    secrets: dict[str, SecretRef]
    run_timeout_seconds: float | None
    latest_version: int = Field(description="The newest published version's number (0: none yet).")
    created_by: str | None
    created_at: Timestamp
    updated_at: Timestamp


class FlowVersion(Out):
    """An immutable, published graph."""

    id: str
    workspace_id: str
    workflow_id: str
    number: int
    graph: JsonObject
    input_schema: JsonObject | None
    env: dict[str, EnvValue]
    secrets: dict[str, SecretRef]
    run_timeout_seconds: float | None
    note: str
    created_by: str | None
    created_at: Timestamp


class RunError(Out):
    model_config = {"extra": "allow"}

    code: str
    message: str


class Run(Out):
    id: str
    workspace_id: str
    workflow_id: str
    version_id: str | None = Field(description="Null for a test run of the draft.")
    version_number: int | None
    mode: RunMode
    status: RunStatus
    trigger: StoredRunTrigger = Field(description="What started the run: a trigger kind of this deployment (or "
                                                  "one it no longer has), a rerun, or the API by a key.")
    input: Any
    trigger_info: JsonObject | None = Field(description="What the trigger knows of the start (`$trigger` in "
                                            "expressions): id, kind, delivery_id, external_id, slot, received_at; "
                                            "null for runs started through the API or a rerun.")
    output: Any
    error: RunError | None
    rerun_of: str | None
    created_by: str | None
    deadline: Timestamp
    started_at: Timestamp
    finished_at: Timestamp | None
    created_at: Timestamp
    last_event_id: int = Field(description="The run's newest event seq (resume the stream after it).")


class StepAttempt(Out):
    id: str
    run_id: str
    node_id: str
    instance_key: str
    attempt: int
    idempotency_key: str = Field(description="What this attempt's action calls carry (`run:node[@instance]:attempt`).")
    node_type: str
    template: str | None
    status: StepStatus
    input: Any
    output: Any
    error: JsonObject | None
    not_before: Timestamp | None
    dispatched_at: Timestamp | None
    lease_seconds: float
    lease_expires_at: Timestamp | None
    reclaims: int
    duration_ms: float | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    created_at: Timestamp


class JoinArrival(Out):
    """One arrival at a join (wait_all, merge_race), in recorded order."""

    seq: int
    to_node: str
    to_key: str = Field(description="The join instance (for-each item key; empty for a plain join).")
    from_node: str
    from_key: str
    kind: Literal["arrived", "skipped"]
    dropped: bool = Field(description="A merge_race arrival after the winner: recorded, not run.")
    created_at: Timestamp


class RunDetail(Run):
    graph: JsonObject = Field(description="The graph this run executes.")
    steps: list[StepAttempt] = Field(description="Every step attempt, oldest first.")


class LogLine(Out):
    id: int
    step_id: str
    node_id: str
    level: Literal["debug", "info", "warning", "error"]
    message: str
    fields: JsonObject
    at: Timestamp


class RunEvent(Out):
    seq: int
    type: str
    step_id: str | None
    node_id: str | None
    data: JsonObject
    created_at: Timestamp


class StreamEvent(Out):
    """One server-sent event of a run's stream (``id:``, ``event:``, ``data:`` lines; ``retry:`` first)."""

    model_config = {"extra": "allow"}

    id: str | None = Field(None, description="The run's event seq; resume after it with Last-Event-ID.")
    event: str | None = Field(None, description="The event's type (run.started, step.finished, ...).")
    data: str | None = Field(None, description="JSON: {seq, type, step_id, node_id, data, at}.")
    retry: int | None = Field(None, description="Milliseconds to wait before reconnecting.")


class RunEvents(Out):
    items: list[RunEvent]
    run_status: RunStatus
    last_event_id: int = Field(description="Pass it back as `after` to poll for newer events.")


class QuarantinedStep(Out):
    id: str
    workspace_id: str
    run_id: str
    step_id: str
    node_id: str
    instance_key: str
    attempt: int
    error: JsonObject
    status: Literal["quarantined", "redriven"]
    redriven_step_id: str | None
    redriven_by: str | None
    redriven_at: Timestamp | None
    created_at: Timestamp


class StepFigures(Out):
    template: str | None
    step_type: str
    attempts: int
    failed: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None


class RunFigures(Out):
    status: RunStatus
    count: int
    duration_p50_ms: float | None
    duration_p95_ms: float | None


class RunBucket(Out):
    at: Timestamp = Field(description="The bucket's start.")
    status: RunStatus
    count: int


class Metrics(Out):
    since: Timestamp
    workspace_ids: list[str] | None = Field(description="The workspaces counted; null: all of the tenant.")
    steps: list[StepFigures]
    runs: list[RunFigures]
    bucket_seconds: int = Field(description="The width of each `runs_over_time` bucket.")
    runs_over_time: list[RunBucket] = Field(description="Runs per bucket and status, oldest first, empty buckets "
                                            "left out: a finished run counts when it finished, a running one "
                                            "when it started.")
    queue_depth: int | None


FlowPage = page_of(Flow)
FlowVersionPage = page_of(FlowVersion)
RunPage = page_of(Run)
StepAttemptPage = page_of(StepAttempt)
LogPage = page_of(LogLine, cursor="The last log id; pass it back as `after`.")
QuarantinePage = page_of(QuarantinedStep)
JoinArrivalPage = page_of(JoinArrival, cursor="Always null: every arrival (up to 5,000) in one page.")
