import pytest

from chalicelib.config import load_settings
from chalicelib.errors import ConfigurationError


def test_missing_database_url_is_named(monkeypatch):
    # GIVEN no DATABASE_URL in the environment
    monkeypatch.delenv("DATABASE_URL", raising=False)
    # WHEN the settings are loaded THEN the error names the variable
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        load_settings()


def test_non_postgres_url_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://x@y/z")
    with pytest.raises(ConfigurationError, match="DATABASE_URL: .*postgresql"):
        load_settings()


def test_plain_postgres_url_gets_pg8000_driver_and_endpoint_switch(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@127.0.0.1/stepline")
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    settings = load_settings()
    assert settings.database_url.startswith("postgresql+pg8000://")
    assert settings.aws_endpoint_url is None  # empty means real AWS
    assert settings.owner_database_url == settings.database_url


def test_invalid_enum_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@127.0.0.1/stepline")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        load_settings()
