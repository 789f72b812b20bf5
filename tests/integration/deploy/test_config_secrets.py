"""Settings held in Secrets Manager are read once per process, against the real (emulated) service."""

from __future__ import annotations

import json
import os
import uuid

import boto3
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chalicelib.config import get_settings, load_settings, resolve_secret_references
from chalicelib.db.database_engine import make_db_engine
from chalicelib.errors import ConfigurationError


@pytest.fixture
def secrets(local_stack):
    client = boto3.session.Session().client(
        "secretsmanager",
        region_name=local_stack.env["AWS_DEFAULT_REGION"],
        endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
    )
    created: list[str] = []

    def put(value: str) -> str:
        arn = client.create_secret(Name=f"stepline-test/{uuid.uuid4().hex}", SecretString=value)["ARN"]
        created.append(arn)
        return arn

    put.client = client  # type: ignore[attr-defined]
    yield put
    for arn in created:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def _env(local_stack, **values: str) -> dict[str, str]:
    return {
        "AWS_DEFAULT_REGION": local_stack.env["AWS_DEFAULT_REGION"],
        "AWS_ENDPOINT_URL": local_stack.env["AWS_ENDPOINT_URL"],
        **values,
    }


def _login(url: str, **override: object) -> str:
    parsed = make_url(url)
    login = {"username": parsed.username, "password": parsed.password, "host": parsed.host,
             "port": parsed.port, "dbname": parsed.database, "engine": "postgres"}
    login.update(override)
    return json.dumps(login)


def test_database_login_secret_becomes_a_working_url_through_the_given_host(local_stack, secrets):
    # GIVEN the app role's login stored as RDS stores it, but naming a host nobody should dial
    app_url = local_stack.env["DATABASE_URL"]
    arn = secrets(_login(app_url, host="instance-behind-the-proxy.invalid"))
    # WHEN the settings are resolved with DATABASE_HOST naming the endpoint to use (the proxy)
    resolved = resolve_secret_references(_env(local_stack, DATABASE_SECRET_ARN=arn, DATABASE_HOST="127.0.0.1"))
    # THEN the URL uses pg8000, the given host, and really connects as the app role
    url = make_url(resolved["database_url"])
    assert url.drivername == "postgresql+pg8000" and url.host == "127.0.0.1"
    engine = make_db_engine(resolved["database_url"], pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == make_url(app_url).username
    finally:
        engine.dispose()


def test_passwords_with_url_characters_survive(local_stack, secrets):
    password = "p@ss:w/rd?#%&=+ 'x"
    arn = secrets(json.dumps({"username": "stepline_app", "password": password, "host": "db", "port": 5432,
                              "dbname": "stepline"}))
    resolved = resolve_secret_references(_env(local_stack, MIGRATION_DATABASE_SECRET_ARN=arn))
    assert make_url(resolved["migration_database_url"]).password == password


def test_plain_secrets_are_given_as_the_settings(local_stack, secrets, monkeypatch):
    # GIVEN only references in the environment, as on AWS
    keys = json.dumps([{"kid": "k1"}])
    refs = {
        "JWT_KEYS_SECRET_ARN": secrets(keys),
        "OPERATOR_TOKEN_SECRET_ARN": secrets("op_from_secrets_manager"),
        "STATE_SIGNING_KEY_SECRET_ARN": secrets("state-key-from-secrets-manager"),
        "DATABASE_SECRET_ARN": secrets(_login(local_stack.env["DATABASE_URL"])),
    }
    for name in ("DATABASE_URL", "JWT_KEYS", "OPERATOR_TOKEN", "STATE_SIGNING_KEY", "MIGRATION_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in refs.items():
        monkeypatch.setenv(name, value)
    # WHEN the settings load THEN the values come from the secrets
    settings = load_settings()
    assert settings.jwt_keys == keys
    assert settings.operator_token == "op_from_secrets_manager"
    assert settings.state_signing_key == "state-key-from-secrets-manager"
    assert make_url(settings.database_url).username == make_url(local_stack.env["DATABASE_URL"]).username


def test_secrets_are_read_once_per_process(local_stack, secrets, monkeypatch):
    # GIVEN a process whose settings were read from a secret
    arn = secrets("op_first")
    monkeypatch.setenv("OPERATOR_TOKEN_SECRET_ARN", arn)
    monkeypatch.delenv("OPERATOR_TOKEN", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().operator_token == "op_first"
        # WHEN the secret disappears THEN warm invocations still have it: nothing is read again
        secrets.client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        assert get_settings().operator_token == "op_first"
        # and a new process (cold start) would fail loudly, naming the variable
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match="OPERATOR_TOKEN_SECRET_ARN: the secret could not be read"):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_value_and_its_reference_together_are_refused(local_stack, secrets):
    env = _env(local_stack, OPERATOR_TOKEN="op_plain", OPERATOR_TOKEN_SECRET_ARN=secrets("op_secret"))
    with pytest.raises(ConfigurationError, match="OPERATOR_TOKEN_SECRET_ARN and OPERATOR_TOKEN"):
        resolve_secret_references(env)


def test_a_malformed_login_is_refused_without_echoing_it(local_stack, secrets):
    arn = secrets(json.dumps({"username": "stepline_app", "password": "hunter2-secret-value"}))  # no host
    with pytest.raises(ConfigurationError) as caught:
        resolve_secret_references(_env(local_stack, DATABASE_SECRET_ARN=arn))
    assert "DATABASE_SECRET_ARN" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_public_base_url_comes_from_the_parameter_the_stack_writes(local_stack):
    client = boto3.session.Session().client(
        "ssm", region_name=local_stack.env["AWS_DEFAULT_REGION"], endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    name = f"/stepline/test-{uuid.uuid4().hex[:8]}/public-base-url"
    client.put_parameter(Name=name, Value="https://d111111abcdef8.cloudfront.net", Type="String")
    try:
        resolved = resolve_secret_references(_env(local_stack, PUBLIC_BASE_URL_PARAMETER=name))
        assert resolved == {"public_base_url": "https://d111111abcdef8.cloudfront.net"}
    finally:
        client.delete_parameter(Name=name)
    with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL_PARAMETER: the parameter could not be read"):
        resolve_secret_references(_env(local_stack, PUBLIC_BASE_URL_PARAMETER=name))


def test_nothing_is_resolved_locally():
    # no reference set: no client is made and nothing changes
    env = {k: v for k, v in os.environ.items() if not k.endswith("_SECRET_ARN")}
    assert resolve_secret_references(env) == {}
