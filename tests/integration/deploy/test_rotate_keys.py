"""The key rotation procedure against the stage's secret in (emulated) Secrets Manager."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib.deployment import signing_keys
from chalicelib.identity.keys import KeySet
from devstack.rotate_keys import rotate

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class _Lambda:
    """Records the configuration updates that recycle containers (Lambda cannot run in the emulator)."""

    def __init__(self):
        self.updates = []

    def update_function_configuration(self, **kwargs):
        self.updates.append(kwargs)


@pytest.fixture
def secret(local_stack):
    client = boto3.session.Session().client(
        "secretsmanager", region_name=local_stack.env["AWS_DEFAULT_REGION"],
        endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    try:  # an emulator kept from an interrupted run may still hold it
        client.delete_secret(SecretId="stepline/dev/jwt-keys", ForceDeleteWithoutRecovery=True)
    except client.exceptions.ResourceNotFoundException:
        pass
    client.create_secret(Name="stepline/dev/jwt-keys", SecretString=signing_keys.initial_keyset(NOW))
    yield client
    client.delete_secret(SecretId="stepline/dev/jwt-keys", ForceDeleteWithoutRecovery=True)


def _keys(client):
    return client.get_secret_value(SecretId="stepline/dev/jwt-keys")["SecretString"]


def test_stage_promote_retire_on_the_stage_secret(secret):
    lambdas = _Lambda()
    rotate(secret, lambdas, "dev", "stage", "2027-01", NOW)
    assert KeySet.from_json(_keys(secret)).signing_key.kid == "2026-11-27-1"
    rotate(secret, lambdas, "dev", "promote", "2027-01", NOW + timedelta(hours=1))
    assert KeySet.from_json(_keys(secret)).signing_key.kid == "2027-01"
    assert rotate(secret, lambdas, "dev", "retire", None, NOW + timedelta(hours=2)) == "nothing to change"
    rotate(secret, lambdas, "dev", "retire", None, NOW + timedelta(days=2))
    assert {e["kid"]: e["status"] for e in json.loads(_keys(secret))} == {
        "2026-11-27-1": "retired", "2027-01": "active"}
    # each change recycled the api function's containers, and only its
    assert [u["FunctionName"] for u in lambdas.updates] == ["stepline-dev-api"] * 3
    assert all("PRIVATE KEY" not in u["Description"] for u in lambdas.updates)
