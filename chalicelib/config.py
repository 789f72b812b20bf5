"""Configuration from the environment, validated once at start-up.

Every setting has an environment variable of the same name in upper case
(``DATABASE_URL``, ``AWS_ENDPOINT_URL`` …). ``AWS_ENDPOINT_URL`` is the one
switch between LocalStack, the embedded moto server and real AWS: when set,
every boto3 client is pointed at it; when empty, boto3 talks to AWS. No other
code branches on which one it is.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    public_base_url: str = Field("http://127.0.0.1:8000", description="Base URL in mails and links.")

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


def load_settings() -> Settings:
    """Read and validate the environment; a clear error names each bad variable."""
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"Invalid configuration: {problems}") from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once per container)."""
    return load_settings()
