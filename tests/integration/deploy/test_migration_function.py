"""The migration function, invoked as CloudFormation would, against a fresh database of the test cluster."""

from __future__ import annotations

import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pg8000.native
import pytest
from sqlalchemy.engine import make_url

from chalicelib.adapters import boto_clients
from chalicelib.config import get_settings
from chalicelib.deployment import database, handler
from chalicelib.identity.keys import KeySet


class _CloudFormation(BaseHTTPRequestHandler):
    answers: list[dict] = []

    def do_PUT(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).answers.append({"content_type": self.headers.get("Content-Type"),
                                   "body": json.loads(self.rfile.read(length))})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def cloudformation():
    """A loopback stand-in for the pre-signed response URL; collects what the function answers."""
    _CloudFormation.answers = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CloudFormation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/response?signature=x", _CloudFormation.answers
    server.shutdown()


@pytest.fixture
def fresh_database(local_stack):
    """An empty database and its owner (a login with CREATEROLE, as RDS's master user), as on a first deployment."""
    if local_stack.cluster is None:
        pytest.skip("needs the throwaway cluster (DATABASE_URL given)")
    suffix = uuid.uuid4().hex[:8]
    name, owner_role, role = f"stepline_deploy_{suffix}", f"stepline_owner_{suffix}", f"stepline_app_{suffix}"
    owner_password = uuid.uuid4().hex
    admin = pg8000.native.Connection("postgres", host="127.0.0.1", port=local_stack.cluster.port)
    admin.run(f"CREATE ROLE \"{owner_role}\" LOGIN CREATEROLE PASSWORD '{owner_password}'")
    admin.run(f'CREATE DATABASE "{name}" OWNER "{owner_role}"')
    owner = make_url(local_stack.env["MIGRATION_DATABASE_URL"]).set(
        username=owner_role, password=owner_password, database=name)
    yield {"owner": owner, "role": role, "password": "it's-a-pass:w@rd/" + uuid.uuid4().hex}
    admin.run(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.run(f'DROP ROLE IF EXISTS "{role}"')
    admin.run(f'DROP ROLE IF EXISTS "{owner_role}"')
    admin.close()


@pytest.fixture
def deployed_env(local_stack, fresh_database, monkeypatch):
    """The migration function's environment on AWS: only secret references and the proxy host."""
    client = boto3.session.Session().client(
        "secretsmanager", region_name=local_stack.env["AWS_DEFAULT_REGION"],
        endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    owner = fresh_database["owner"]

    def login(username, password):
        return json.dumps({"username": username, "password": password, "host": "db-instance.invalid",
                           "port": owner.port, "dbname": owner.database, "engine": "postgres"})

    arns = {
        "MIGRATION_DATABASE_SECRET_ARN": login(owner.username, owner.password),
        "DATABASE_SECRET_ARN": login(fresh_database["role"], fresh_database["password"]),
        "JWT_KEYS_SECRET_ARN": "[]",
    }
    for var, value in list(arns.items()):
        arns[var] = client.create_secret(Name=f"stepline-test/{uuid.uuid4().hex}", SecretString=value)["ARN"]
        monkeypatch.setenv(var, arns[var])
    for var in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "JWT_KEYS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_HOST", "127.0.0.1")
    get_settings.cache_clear()
    yield {"client": client, **arns}
    monkeypatch.undo()
    get_settings.cache_clear()
    for var in ("MIGRATION_DATABASE_SECRET_ARN", "DATABASE_SECRET_ARN", "JWT_KEYS_SECRET_ARN"):
        client.delete_secret(SecretId=arns[var], ForceDeleteWithoutRecovery=True)


def _event(kind, url, **extra):
    return {"RequestType": kind, "ResponseURL": url, "StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/1",
            "RequestId": uuid.uuid4().hex, "LogicalResourceId": "MigrationRun",
            "ResourceProperties": {"Stage": "test", "Release": "abc"}, **extra}


def _can_read_as_app(fresh_database) -> int:
    owner = fresh_database["owner"]
    conn = pg8000.native.Connection(fresh_database["role"], password=fresh_database["password"],
                                    host="127.0.0.1", port=owner.port, database=owner.database)
    try:
        return conn.run("SELECT count(*) FROM system_heartbeats")[0][0]
    finally:
        conn.close()


def test_first_deployment_fills_keys_creates_the_role_and_migrates(deployed_env, fresh_database, cloudformation):
    url, answers = cloudformation
    role_before = os.environ.get("APP_DB_ROLE")
    # WHEN CloudFormation creates the custom resource
    handler.handler(_event("Create", url), None)
    assert os.environ.get("APP_DB_ROLE") == role_before  # the migrations' role name does not leak
    # THEN it answered SUCCESS with the head revision, on a stable physical id
    (answer,) = answers
    assert answer["content_type"] == ""
    body = answer["body"]
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["revision"] == database.head()
    assert body["PhysicalResourceId"] == "stepline-migrations-test"
    # the key set was generated and loads; the app role logs in and reads the migrated tables
    keys = deployed_env["client"].get_secret_value(SecretId=deployed_env["JWT_KEYS_SECRET_ARN"])["SecretString"]
    assert KeySet.from_json(keys).signing_key.private_key is not None
    assert _can_read_as_app(fresh_database) == 0

    # WHEN the next release deploys (Update) THEN nothing changes: keys kept, schema at head
    get_settings.cache_clear()
    handler.handler(_event("Update", url, PhysicalResourceId=body["PhysicalResourceId"]), None)
    assert answers[1]["body"]["Status"] == "SUCCESS"
    assert answers[1]["body"]["Data"] == {"revision": database.head(), "signing_keys": "kept"}
    again = deployed_env["client"].get_secret_value(SecretId=deployed_env["JWT_KEYS_SECRET_ARN"])["SecretString"]
    assert again == keys


def test_rollback_path_steps_the_schema_back_and_forward(deployed_env, fresh_database, cloudformation):
    handler.handler(_event("Create", cloudformation[0]), None)
    head = database.head()
    # WHEN the operator invokes the function directly to step back one revision
    back = handler.handler({"action": "downgrade", "revision": "-1"}, None)
    assert back["revision"] != head
    assert handler.handler({"action": "current"}, None) == back
    # THEN an upgrade brings it to head again
    assert handler.handler({"action": "upgrade"}, None)["revision"] == head


def test_redeploying_an_older_release_leaves_a_newer_schema_alone(deployed_env, fresh_database, cloudformation):
    # GIVEN a database migrated by a newer release than this package (its revision is unknown here)
    url, answers = cloudformation
    handler.handler(_event("Create", url), None)
    owner = fresh_database["owner"]
    conn = pg8000.native.Connection(owner.username, password=owner.password, host="127.0.0.1", port=owner.port,
                                    database=owner.database)
    conn.run("UPDATE alembic_version SET version_num = 'from-a-newer-release'")
    conn.close()
    # WHEN this (older) release deploys THEN it succeeds and changes nothing
    get_settings.cache_clear()
    handler.handler(_event("Update", url, PhysicalResourceId="stepline-migrations-test"), None)
    body = answers[1]["body"]
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["revision"] == "from-a-newer-release" and body["Data"]["schema"] == "ahead"


def test_a_failed_phase_answers_failed_without_secrets(deployed_env, fresh_database, cloudformation, monkeypatch):
    # GIVEN an owner secret naming a login the database refuses (the test cluster trusts passwords)
    url, answers = cloudformation
    wrong = json.dumps({"username": "stepline_nobody", "password": "wrong-secret-pw",
                        "host": "127.0.0.1", "port": fresh_database["owner"].port,
                        "dbname": fresh_database["owner"].database})
    deployed_env["client"].put_secret_value(SecretId=deployed_env["MIGRATION_DATABASE_SECRET_ARN"],
                                            SecretString=wrong)
    get_settings.cache_clear()
    # WHEN the deployment runs THEN CloudFormation hears FAILED naming the phase, and no secret
    handler.handler(_event("Update", url, PhysicalResourceId="stepline-migrations-test"), None)
    body = answers[0]["body"]
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("database role failed")
    assert "wrong-secret-pw" not in json.dumps(body)
    assert fresh_database["password"] not in json.dumps(body)


def test_delete_changes_nothing(deployed_env, fresh_database, cloudformation):
    url, answers = cloudformation
    handler.handler(_event("Delete", url, PhysicalResourceId="stepline-migrations-test"), None)
    assert answers[0]["body"]["Status"] == "SUCCESS"
    assert database.current(get_settings().owner_database_url, tls=False) is None  # never migrated, never touched


def test_unknown_operator_action_is_refused(deployed_env):
    with pytest.raises(ValueError, match="current, upgrade or downgrade"):
        handler.handler({"action": "drop"}, None)
    boto_clients.reset_clients()
