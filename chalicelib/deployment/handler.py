"""The migration function: a CloudFormation custom resource, or invoked directly by an operator.

Custom resource (``Custom::SteplineMigrations``): on Create and Update it
fills the JWT key set if the template left the placeholder, creates or updates
the application role from its secret, and upgrades the schema to the head
shipped in this package; on Delete it changes nothing (the database outlives
the stack's functions; its own deletion policy decides). It answers on the
pre-signed ``ResponseURL``; the reason on failure names the phase and the
error class only, never a statement or a secret.

Direct invocation (``aws lambda invoke``), for rollback and inspection::

    {"action": "current"}                        -> {"revision": "0006"}
    {"action": "upgrade"}                        -> same as a deployment
    {"action": "downgrade", "revision": "0005"}  -> schema stepped back
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters import aws
from chalicelib.config import get_settings
from chalicelib.deployment import database, signing_keys
from chalicelib.observability import logger

PHYSICAL_ID_PREFIX = "stepline-migrations"


class DeploymentStepFailed(Exception):
    """One phase of the deployment failed; the message is safe to show in CloudFormation events."""


def deploy() -> dict[str, Any]:
    """Everything a release needs before its code serves. Idempotent."""
    settings = get_settings()
    phase = "secrets"
    try:
        wrote_keys = False
        if os.environ.get("JWT_KEYS_SECRET_ARN"):
            wrote_keys = signing_keys.ensure_keyset(aws.client("secretsmanager"), os.environ["JWT_KEYS_SECRET_ARN"])
        phase = "database role"
        role = database.ensure_app_role(settings.owner_database_url, settings.database_url, tls=settings.database_tls)
        phase = "migrations"
        ahead = database.is_ahead(settings.owner_database_url, tls=settings.database_tls)
        with _app_role_for_migrations(role):
            revision = database.upgrade(settings.owner_database_url, tls=settings.database_tls)
    except Exception as exc:
        logger.error("deployment phase %s failed: %s", phase, type(exc).__name__)
        message = str(exc) if isinstance(exc, database.RoleSetupFailed) else type(exc).__name__
        raise DeploymentStepFailed(f"{phase} failed: {message}") from None
    schema = "ahead of this release (left as it is)" if ahead else "at this release's head"
    logger.info("deployment done: revision %s, schema %s, key set %s", revision, schema,
                "generated" if wrote_keys else "kept")
    result = {"revision": revision or "", "signing_keys": "generated" if wrote_keys else "kept"}
    if ahead:
        result["schema"] = "ahead"
    return result


@contextlib.contextmanager
def _app_role_for_migrations(role: str) -> Iterator[None]:
    """The first migration grants default privileges to ``APP_DB_ROLE``: set it for the upgrade only."""
    previous = os.environ.get("APP_DB_ROLE")
    os.environ["APP_DB_ROLE"] = role
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("APP_DB_ROLE", None)
        else:
            os.environ["APP_DB_ROLE"] = previous


def operate(event: dict[str, Any]) -> dict[str, Any]:
    """A direct invocation by an operator."""
    settings = get_settings()
    action = event.get("action")
    if action == "current":
        return {"revision": database.current(settings.owner_database_url, tls=settings.database_tls)}
    if action == "upgrade":
        return deploy()
    if action == "downgrade":
        revision = event.get("revision")
        if not isinstance(revision, str) or not revision:
            raise ValueError("downgrade needs a 'revision' (for example '0005', or 'base')")
        reached = database.downgrade(settings.owner_database_url, tls=settings.database_tls, revision=revision)
        return {"revision": reached}
    raise ValueError("action must be current, upgrade or downgrade")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    if "RequestType" not in event:
        return operate(event)
    status, reason, data = "SUCCESS", "", {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            data = deploy()
    except DeploymentStepFailed as exc:
        status, reason = "FAILED", str(exc)
    except Exception as exc:  # never leave CloudFormation waiting for an hour
        status, reason = "FAILED", f"unexpected {type(exc).__name__}"
    stage = event.get("ResourceProperties", {}).get("Stage", "")
    respond(event, status=status, reason=reason, data=data,
            physical_id=event.get("PhysicalResourceId") or f"{PHYSICAL_ID_PREFIX}-{stage}",
            log_stream=getattr(context, "log_stream_name", ""))
    return None


def respond(event: dict[str, Any], *, status: str, reason: str, data: dict[str, Any], physical_id: str,
            log_stream: str) -> None:
    """PUT the outcome to CloudFormation's pre-signed URL (an empty Content-Type, as the signature expects)."""
    body = json.dumps({
        "Status": status,
        "Reason": (reason or "see the log stream " + log_stream)[:1000],
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": data,
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (CloudFormation's https URL)
        answer.read()
