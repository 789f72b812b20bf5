"""The KMS key wrapper against moto's KMS server on loopback."""

from __future__ import annotations

import os
import socket

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from chalicelib.crypto.envelope import EnvelopeCipher
from chalicelib.crypto.key_wrapper import DecryptionFailed, KeyServiceUnavailable, LocalMasterKeyWrapper
from chalicelib.crypto.kms_key_wrapper import KmsKeyWrapper

IDS = {"tenant_id": "tenant-a", "table": "connections", "record_id": "conn-1"}
SECRET = {"token": "xoxb-kms-protected-value"}


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: these tests need only their own moto server."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def kms_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def kms(kms_endpoint):
    return boto3.client(
        "kms",
        endpoint_url=kms_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )


@pytest.fixture(scope="module")
def key_alias(kms):
    key_id = kms.create_key(Description="stepline connections")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/stepline-test-connections", TargetKeyId=key_id)
    return "alias/stepline-test-connections"


def test_a_record_round_trips_through_kms(kms, key_alias):
    cipher = EnvelopeCipher(KmsKeyWrapper(kms, key_alias))
    envelope = cipher.encrypt(SECRET, **IDS)
    assert envelope["kek"] == f"kms:{key_alias}" and envelope["kv"] == "1"
    assert cipher.decrypt(envelope, **IDS) == SECRET


def test_the_encryption_context_binds_the_wrapped_key_to_the_record(kms, key_alias):
    cipher = EnvelopeCipher(KmsKeyWrapper(kms, key_alias))
    envelope = cipher.encrypt(SECRET, **IDS)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(envelope, **{**IDS, "tenant_id": "tenant-b"})


def test_a_local_record_rewraps_into_kms_without_touching_the_ciphertext(kms, key_alias):
    local = LocalMasterKeyWrapper(os.urandom(32), "1")
    envelope = EnvelopeCipher(local).encrypt(SECRET, **IDS)
    kms_wrapper = KmsKeyWrapper(kms, key_alias, key_version="2")
    rewrapped = EnvelopeCipher(kms_wrapper, previous=[local]).rewrap(envelope, **IDS)
    assert rewrapped["ct"] == envelope["ct"] and rewrapped["kek"] == f"kms:{key_alias}"
    assert EnvelopeCipher(kms_wrapper).decrypt(rewrapped, **IDS) == SECRET


def test_an_unreachable_kms_is_a_retryable_error():
    unreachable = boto3.client(
        "kms",
        endpoint_url=f"http://127.0.0.1:{_free_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    with pytest.raises(KeyServiceUnavailable) as caught:
        EnvelopeCipher(KmsKeyWrapper(unreachable, "alias/x")).encrypt(SECRET, **IDS)
    assert caught.value.retryable is True
