"""Workflows: CRUD, the draft graph, publishing immutable versions.

Every function takes the authenticated principal and the workspace (already
resolved by the route's access policy) and runs in a unit of work scoped to
the tenant; every mutation is audited in the same transaction. The graph is
validated with ``chalicelib.engine.graph.parse_graph``; templates and
connections it names are checked through the ``ReferenceChecker`` port.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import bindparam, delete, func, insert, select, update

from chalicelib.container import current
from chalicelib.db.pagination import paginate
from chalicelib.db.request_transaction import tenant_transaction
from chalicelib.db.uow import tenant_uow
from chalicelib.engine.config_schema import pointer
from chalicelib.engine.graph import validate_graph
from chalicelib.engine.presets import apply_presets, preset_issues, template_refs
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.services import audit, tenant_limits
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.workflows import workflow_versions, workflows

STATUSES = ("draft", "test", "production")
DEFAULT_START_PAYLOAD: dict[str, Any] = {"payload": None}
_SUMMARY = ("title", "description", "status", "enabled", "run_timeout_seconds")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def present(row: Any) -> dict[str, Any]:
    data = dict(row)
    data.pop("tenant_id", None)
    return data


_LOAD = select(workflows).where(workflows.c.id == bindparam("flow_id"), workflows.c.workspace_id == bindparam("ws"))
_LOAD_LOCKED = _LOAD.with_for_update()


def load(uow: UnitOfWork, ws: str, flow_id: str, *, lock: bool = False) -> dict[str, Any]:
    row = uow.execute(_LOAD_LOCKED if lock else _LOAD, {"flow_id": flow_id, "ws": ws}).mappings().first()
    if row is None:
        raise NotFound("No such workflow.")
    return dict(row)


# -- validation -----------------------------------------------------------------------------------


def check_graph(tenant_id: str, ws: str, data: Any, *, prefix: str = "") -> None:
    """422 with JSON-pointer details unless the graph is valid in this workspace."""
    issues = graph_issues(tenant_id, ws, data, prefix=prefix)
    if issues:
        raise ValidationFailed("The workflow graph is invalid.", details=issues)


def graph_issues(tenant_id: str, ws: str, data: Any, *, prefix: str = "") -> list[dict[str, str]]:
    """Every problem of the graph in this workspace, pointers prefixed with ``prefix``."""
    templates, connections = _references(data)
    missing_templates: set[str] = set()
    missing_connections: set[str] = set()
    if templates or connections:
        missing_templates, missing_connections = current().reference_checker().missing(
            tenant_id, ws, templates, connections)
    presets: dict[str, dict[str, Any]] = {}
    if template_refs(data):
        with tenant_uow(tenant_id) as uow:
            presets = current().action_defaults().presets(uow, template_refs(data))
    # A node is validated with its template's preset config under its own (what its runs execute).
    found = preset_issues(data, presets) + validate_graph(
        apply_presets(data, presets), catalog=current().step_catalog,
        template_exists=lambda ref: ref not in missing_templates,
        connection_ok=lambda cid: cid not in missing_connections)
    return [{"path": prefix + i["path"], "issue": i["issue"]} for i in found]


def with_presets(uow: UnitOfWork, graph: Any) -> Any:
    """The graph a run executes: its template nodes carry their templates' preset config."""
    refs = template_refs(graph)
    return apply_presets(graph, current().action_defaults().presets(uow, refs)) if refs else graph


def _references(data: Any) -> tuple[set[str], set[str]]:
    templates: set[str] = set()
    connections: set[str] = set()
    nodes = data.get("nodes") if isinstance(data, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict):
            if isinstance(node.get("template"), str):
                templates.add(node["template"])
            if isinstance(node.get("connection_id"), str):
                connections.add(node["connection_id"])
    return templates, connections


def check_input_schema(schema: Any, *, path: str = "/input_schema") -> None:
    issues = input_schema_issues(schema, path=path)
    if issues:
        raise ValidationFailed("The input schema is not a valid JSON Schema.", details=issues)


def input_schema_issues(schema: Any, *, path: str = "/input_schema") -> list[dict[str, str]]:
    if schema is None:
        return []
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [{"path": path + pointer(exc.absolute_path), "issue": exc.message[:200]}]
    return []


def check_settings(tenant_id: str, ws: str, fields: dict[str, Any]) -> None:
    """422 listing every problem of the settings (see :func:`settings_issues`)."""
    issues = settings_issues(tenant_id, ws, fields)
    if issues:
        raise ValidationFailed("The workflow settings are invalid.", details=issues)


def settings_issues(tenant_id: str, ws: str, fields: dict[str, Any]) -> list[dict[str, str]]:
    """Input schema, environment names and secret references (connection and field must exist)."""
    issues = input_schema_issues(fields.get("input_schema"))
    for name in (fields.get("env") or {}):
        if not _NAME.match(name):
            issues.append({"path": f"/env/{name}", "issue": f"must match {_NAME.pattern}"})
    secrets = fields.get("secrets") or {}
    for name in secrets:
        if not _NAME.match(name):
            issues.append({"path": f"/secrets/{name}", "issue": f"must match {_NAME.pattern}"})
    if secrets:
        issues += _secret_ref_issues(tenant_id, ws, secrets)
    return issues


def _secret_ref_issues(tenant_id: str, ws: str, secrets: dict[str, Any]) -> list[dict[str, str]]:
    """Each reference names a connection of this workspace and a field that connection has."""
    checker = current().reference_checker()
    wanted = {ref["connection_id"] for ref in secrets.values()}
    _, missing = checker.missing(tenant_id, ws, set(), wanted)
    fields = checker.secret_fields(tenant_id, ws, wanted - missing)
    issues = []
    for name, ref in secrets.items():
        if ref["connection_id"] in missing:
            issues.append({"path": f"/secrets/{name}/connection_id", "issue": "no such connection in this workspace"})
            continue
        offered = fields.get(ref["connection_id"])
        if offered is not None and ref["field"] not in offered:
            listed = ", ".join(sorted(offered)) or "none"
            issues.append({"path": f"/secrets/{name}/field",
                           "issue": f"secret {name!r}: the connection has no field {ref['field']!r} "
                                    f"(fields: {listed})"})
    return issues


# -- use cases ------------------------------------------------------------------------------------


def create(principal: Any, ws: str, fields: dict[str, Any]) -> dict[str, Any]:
    issues = settings_issues(principal.tenant_id, ws, fields)
    if fields.get("graph") is not None:
        issues += graph_issues(principal.tenant_id, ws, fields["graph"], prefix="/graph")
    if issues:
        raise ValidationFailed("The workflow is invalid.", details=issues)
    flow_id = new_id()
    values = {
        "id": flow_id, "tenant_id": principal.tenant_id, "workspace_id": ws, "title": fields["title"],
        "description": fields.get("description") or "", "status": fields.get("status") or "draft",
        "enabled": bool(fields.get("enabled", False)), "graph": fields.get("graph"),
        "start_payload": fields["start_payload"] if "start_payload" in fields else dict(DEFAULT_START_PAYLOAD),
        "input_schema": fields.get("input_schema"), "env": fields.get("env") or {},
        "secrets": fields.get("secrets") or {}, "run_timeout_seconds": fields.get("run_timeout_seconds"),
        "created_by": principal.actor_id if _is_uuid_like(principal.actor_id) else None,
    }
    # Its own transaction, not the request's: the tenant's quota lock is held from here to the durable commit,
    # so the rate limit's spend stays out of that line (docs/api-performance.md).
    with tenant_uow(principal.tenant_id) as uow:
        tenant_limits.check_workflow_quota(uow, principal.tenant_id)
        row = uow.execute(insert(workflows).values(**values).returning(*workflows.c)).mappings().one()
        audit.record(uow, principal, "workflow.created", "workflow", flow_id, after=_summary(values))
        result = present(row)
        uow.commit()
    return result


def _list_query(status: bool, enabled: bool, words: bool) -> Any:
    """The list's query for one combination of filters, their values bound (built once each)."""
    query = select(workflows).where(workflows.c.workspace_id == bindparam("ws"))
    if status:
        query = query.where(workflows.c.status == bindparam("status"))
    if enabled:
        query = query.where(workflows.c.enabled == bindparam("enabled"))
    if words:  # the words anywhere in the title, % and _ taken literally
        query = query.where(func.lower(workflows.c.title).like(bindparam("words"), escape="/"))
    return query


_LISTS = {(s, e, w): _list_query(s, e, w) for s in (False, True) for e in (False, True) for w in (False, True)}


def _like_words(words: str) -> str:
    escaped = words.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def list_(principal: Any, ws: str, params: dict[str, str]) -> dict[str, Any]:
    status, words = params.get("status") or None, params.get("q") or None
    enabled = params.get("enabled") if params.get("enabled") in ("true", "false") else None
    query = _LISTS[(status is not None, enabled is not None, words is not None)]
    bound: dict[str, Any] = {"ws": ws, "status": status, "enabled": enabled == "true",
                             "words": _like_words(words) if words is not None else None}
    with tenant_transaction(principal.tenant_id) as uow:  # the request's, when the route shares it
        page = paginate(uow, query, workflows, params, bound=bound)
    page["items"] = [present(r) for r in page["items"]]
    return page


def get(principal: Any, ws: str, flow_id: str) -> dict[str, Any]:
    with tenant_transaction(principal.tenant_id) as uow:
        return present(load(uow, ws, flow_id))


def update_(principal: Any, ws: str, flow_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    check_settings(principal.tenant_id, ws, changes)
    with tenant_uow(principal.tenant_id) as uow:
        before = load(uow, ws, flow_id, lock=True)
        if changes:
            uow.execute(update(workflows).where(workflows.c.id == flow_id)
                        .values(**changes, updated_at=func.now()))
            audit.record(uow, principal, "workflow.updated", "workflow", flow_id,
                         before=_summary(before, changes), after=_summary(changes, changes))
        result = present(load(uow, ws, flow_id))
        uow.commit()
    return result


def remove(principal: Any, ws: str, flow_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        before = load(uow, ws, flow_id, lock=True)
        uow.execute(delete(workflows).where(workflows.c.id == flow_id))
        audit.record(uow, principal, "workflow.deleted", "workflow", flow_id, before=_summary(before))
        uow.commit()


def put_graph(principal: Any, ws: str, flow_id: str, graph: Any) -> dict[str, Any]:
    check_graph(principal.tenant_id, ws, graph)
    with tenant_uow(principal.tenant_id) as uow:
        before = load(uow, ws, flow_id, lock=True)
        uow.execute(update(workflows).where(workflows.c.id == flow_id).values(graph=graph, updated_at=func.now()))
        audit.record(uow, principal, "workflow.graph_replaced", "workflow", flow_id,
                     before={"nodes": _node_count(before["graph"])}, after={"nodes": _node_count(graph)})
        result = present(load(uow, ws, flow_id))
        uow.commit()
    return result


def publish(principal: Any, ws: str, flow_id: str, note: str = "") -> dict[str, Any]:
    """Freeze the draft (graph, input schema, environment, secret references) as the next version."""
    with tenant_uow(principal.tenant_id) as uow:
        flow = load(uow, ws, flow_id, lock=True)
        if flow["graph"] is None:
            raise Conflict("The workflow has no graph to publish.", code="no_graph")
        check_graph(principal.tenant_id, ws, flow["graph"], prefix="/graph")
        number = int(flow["latest_version"]) + 1
        version_id = new_id()
        uow.execute(insert(workflow_versions).values(
            id=version_id, tenant_id=principal.tenant_id, workspace_id=ws, workflow_id=flow_id, number=number,
            graph=flow["graph"], input_schema=flow["input_schema"], env=flow["env"], secrets=flow["secrets"],
            run_timeout_seconds=flow["run_timeout_seconds"], note=note,
            created_by=principal.actor_id if _is_uuid_like(principal.actor_id) else None,
        ))
        uow.execute(update(workflows).where(workflows.c.id == flow_id)
                    .values(latest_version=number, updated_at=func.now()))
        audit.record(uow, principal, "workflow.published", "workflow", flow_id, after={"version": number})
        row = uow.execute(select(workflow_versions).where(workflow_versions.c.id == version_id)).mappings().one()
        uow.commit()
    return present(row)


def list_versions(principal: Any, ws: str, flow_id: str, params: dict[str, str]) -> dict[str, Any]:
    query = select(workflow_versions).where(workflow_versions.c.workflow_id == flow_id,
                                            workflow_versions.c.workspace_id == ws)
    with tenant_uow(principal.tenant_id) as uow:
        page = paginate(uow, query, workflow_versions, params)
    page["items"] = [present(r) for r in page["items"]]
    return page


def version(uow: UnitOfWork, flow_id: str, number: int | None = None) -> dict[str, Any] | None:
    """A published version (the latest when ``number`` is None)."""
    query = select(workflow_versions).where(workflow_versions.c.workflow_id == flow_id)
    query = query.where(workflow_versions.c.number == number) if number is not None else query.order_by(
        workflow_versions.c.number.desc()).limit(1)
    row = uow.execute(query).mappings().first()
    return dict(row) if row else None


def _summary(row: dict[str, Any], only: dict[str, Any] | None = None) -> dict[str, Any]:
    keys = [k for k in _SUMMARY if only is None or k in only]
    summary = {k: row.get(k) for k in keys}
    for key in ("env", "secrets", "input_schema", "start_payload"):
        if (only is None or key in only) and key in row:
            summary[key] = row.get(key)
    return summary


def _node_count(graph: Any) -> int:
    return len(graph.get("nodes", [])) if isinstance(graph, dict) else 0


def _is_uuid_like(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 36
