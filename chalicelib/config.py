"""Configuration from the environment, validated once at start-up.

Every setting has an environment variable of the same name in upper case
(``DATABASE_URL``, ``AWS_ENDPOINT_URL`` …). ``AWS_ENDPOINT_URL`` is the one
switch between LocalStack, the embedded moto server and real AWS: when set,
every boto3 client is pointed at it; when empty, boto3 talks to AWS. No other
code branches on which one it is.

On AWS no secret sits in an environment variable: ``DATABASE_SECRET_ARN``,
``MIGRATION_DATABASE_SECRET_ARN``, ``JWT_KEYS_SECRET_ARN``,
``OPERATOR_TOKEN_SECRET_ARN`` and ``STATE_SIGNING_KEY_SECRET_ARN`` name
Secrets Manager secrets, and ``PUBLIC_BASE_URL_PARAMETER`` an SSM parameter
(the stack writes the console's address there once CloudFront has one). They
are read once per process (at the first :func:`get_settings`, i.e. at cold
start) and given to the settings as if they had been set directly. Locally
nothing of this is set and nothing changes.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib.adapters.boto_clients import shared_client
from chalicelib.errors import ConfigurationError

DEFAULT_STEP_QUEUE = "stepline-steps"


class Settings(BaseSettings):
    """All runtime settings. Field docs double as the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    stage: Literal["local", "test", "dev", "prod"] = Field("local", description="Deployment stage.")
    database_url: str = Field(
        ...,
        description="SQLAlchemy URL of the application role, e.g. "
        "postgresql+pg8000://stepline_app:pw@127.0.0.1:5432/stepline.",
    )
    migration_database_url: str | None = Field(
        None,
        description="URL of the owner role that runs migrations (defaults to DATABASE_URL).",
    )
    db_pool_size: int = Field(5, ge=1, le=50, description="Connections kept per process.")
    db_prepared_statements: int = Field(
        256, ge=0, le=4096, description="Server-side prepared statements kept per connection (an LRU by SQL "
        "text); 0 sends every statement unnamed, for a pooler that cannot carry them."
    )
    database_tls: bool = Field(
        False, description="Connect to PostgreSQL over TLS, verified against the system's CAs (RDS Proxy)."
    )
    db_connect_timeout_seconds: float = Field(
        2.0, gt=0, le=60, description="Opening a database connection (TCP, start-up, authentication)."
    )
    db_statement_timeout_seconds: float = Field(
        15.0, gt=0, le=900, description="Server-side statement_timeout; a server silent this long "
        "(plus the connect timeout) counts as unavailable."
    )
    db_pool_timeout_seconds: float = Field(
        1.5, gt=0, le=60, description="Waiting for a free pooled connection before answering 503."
    )
    aws_region: str = Field("us-east-1", alias="AWS_DEFAULT_REGION", description="AWS region.")
    aws_endpoint_url: str | None = Field(
        None,
        description="Endpoint for every boto3 client: LocalStack or the embedded emulator. "
        "Empty in AWS.",
    )
    step_queue_name: str = Field(DEFAULT_STEP_QUEUE, description="SQS queue of step doorbells.")
    step_queue_backend: Literal["sqs", "postgres"] = Field(
        "sqs", description="Where step doorbells go: `sqs` (AWS, LocalStack, the tests' emulator) or `postgres` "
        "(the embedded queue table; what `make up` uses without AWS_ENDPOINT_URL)."
    )
    step_dlq_name: str = Field("stepline-steps-dlq", description="Dead-letter queue of the step queue.")
    kms_key_alias: str = Field("alias/stepline-connections", description="KMS key wrapping data keys.")
    jwt_keys: str | None = Field(
        None, description="JSON key set for access tokens (see docs/security.md)."
    )
    jwt_issuer: str = Field("stepline", description="`iss` of access tokens.")
    jwt_audience: str = Field("stepline-api", description="`aud` of access tokens.")
    operator_token: str | None = Field(
        None, description="Credential of the operator-only endpoints (X-Operator-Token); unset disables them."
    )
    password_profile: Literal["production", "fast"] = Field(
        "production", description="Argon2id cost profile; 'fast' only for tests."
    )
    local_master_key: str | None = Field(
        None, description="Local key-encryption key (base64url, 32 bytes) when KMS is not used."
    )
    state_signing_key: str | None = Field(None, description="HMAC key signing OAuth2 state.")
    mail_backend: Literal["capture", "ses"] = Field("capture", description="capture (stored locally) or ses.")
    mail_sender: str = Field("no-reply@stepline.local", description="From address of outbound mail.")
    outbound_allow_private: bool | None = Field(
        None, description="Let outbound calls reach private/loopback/link-local addresses "
        "(default: only in the local and test stages)."
    )
    log_level: str = Field("INFO", description="Log level.")
    log_format: Literal["json", "console"] = Field("json", description="Log format.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the local stack (`make up`); the default "
                      "PUBLIC_BASE_URL follows it.")
    public_base_url: str = Field("", description="Base URL in mails, webhook URLs and the OAuth2 redirect "
                                 "(default: http://127.0.0.1:$PORT).")
    oauth_redirect_uris: str = Field("", description="Comma-separated redirect URIs a client may ask "
                                     "`oauth/start` for, besides $PUBLIC_BASE_URL/oauth/callback.")

    @model_validator(mode="after")
    def _base_url_follows_port(self) -> Settings:
        if not self.public_base_url:
            self.public_base_url = f"http://127.0.0.1:{self.port}"
        return self

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("postgresql"):
            raise ValueError("must be a postgresql:// or postgresql+pg8000:// URL")
        if value is not None and value.startswith("postgresql://"):
            value = "postgresql+pg8000://" + value[len("postgresql://"):]
        return value

    @field_validator("aws_endpoint_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def owner_database_url(self) -> str:
        return self.migration_database_url or self.database_url


# setting -> the variable naming the Secrets Manager secret that holds it on AWS
SECRET_REFERENCES: dict[str, str] = {
    "database_url": "DATABASE_SECRET_ARN",
    "migration_database_url": "MIGRATION_DATABASE_SECRET_ARN",
    "jwt_keys": "JWT_KEYS_SECRET_ARN",
    "operator_token": "OPERATOR_TOKEN_SECRET_ARN",
    "state_signing_key": "STATE_SIGNING_KEY_SECRET_ARN",
}
# setting -> the variable naming the SSM parameter that holds it on AWS (not secret, but known only after deploy)
PARAMETER_REFERENCES: dict[str, str] = {"public_base_url": "PUBLIC_BASE_URL_PARAMETER"}
# settings whose secret is a database login ({"username", "password", "host", "port", "dbname"})
_DATABASE_LOGINS = {"database_url", "migration_database_url"}


def resolve_secret_references(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The settings held in Secrets Manager, read now (one call per referenced secret).

    A setting given both directly and by reference is refused: which one wins
    would be a guess. ``DATABASE_HOST`` (the RDS Proxy endpoint) replaces the
    host stored in a database login, which names the instance behind the proxy.
    """
    env = dict(os.environ if environ is None else environ)
    references = {**SECRET_REFERENCES, **PARAMETER_REFERENCES}
    wanted = {name: env[var] for name, var in references.items() if env.get(var)}
    if not wanted:
        return {}
    both = [f"{references[name]} and {name.upper()}" for name in wanted if env.get(name.upper())]
    if both:
        raise ConfigurationError("Set either the value or its reference, not both: " + ", ".join(both))
    region, endpoint = env.get("AWS_DEFAULT_REGION") or "us-east-1", env.get("AWS_ENDPOINT_URL") or None
    resolved: dict[str, str] = {}
    for name, reference in wanted.items():
        variable = references[name]
        if name in PARAMETER_REFERENCES:
            resolved[name] = _read_parameter(shared_client("ssm", region, endpoint), reference, variable)
            continue
        value = _read_secret(shared_client("secretsmanager", region, endpoint), reference, variable)
        if name in _DATABASE_LOGINS:
            value = _database_url(value, variable, env.get("DATABASE_HOST") or None)
        resolved[name] = value
    return resolved


def _read_parameter(client: Any, name: str, variable: str) -> str:
    try:
        return client.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigurationError(f"{variable}: the parameter could not be read ({code}).") from None
    except BotoCoreError as exc:
        raise ConfigurationError(f"{variable}: SSM is unreachable ({type(exc).__name__}).") from None


def _read_secret(client: Any, arn: str, variable: str) -> str:
    try:
        value = client.get_secret_value(SecretId=arn).get("SecretString")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigurationError(f"{variable}: the secret could not be read ({code}).") from None
    except BotoCoreError as exc:
        raise ConfigurationError(f"{variable}: Secrets Manager is unreachable ({type(exc).__name__}).") from None
    if not value:
        raise ConfigurationError(f"{variable}: the secret has no string value.")
    return value


def _database_url(secret: str, variable: str, host: str | None) -> str:
    from sqlalchemy.engine import URL

    try:
        login = json.loads(secret)
        url = URL.create(
            "postgresql+pg8000",
            username=login["username"],
            password=login["password"],
            host=host or login["host"],
            port=int(login.get("port") or 5432),
            database=login.get("dbname") or "stepline",
        )
    except (ValueError, KeyError, TypeError):
        # never echo the secret: say only which part is missing
        raise ConfigurationError(
            f"{variable}: the secret must be JSON with username, password, host (or DATABASE_HOST), port, dbname."
        ) from None
    return url.render_as_string(hide_password=False)


def load_settings() -> Settings:
    """Read and validate the environment (and the secrets it references); errors name each bad variable."""
    try:
        return Settings(**resolve_secret_references())  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"Invalid configuration: {problems}") from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once per container)."""
    return load_settings()
