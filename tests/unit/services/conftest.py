"""The service layer against the in-memory unit of work: no database, no AWS, no network."""

from __future__ import annotations

import os

import pytest

from chalicelib import bootstrap
from chalicelib.crypto.envelope import EnvelopeCipher
from chalicelib.crypto.key_wrapper import LocalMasterKeyWrapper
from tests.fakes.unit_of_work import FakeDatabase


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def cipher() -> EnvelopeCipher:
    return EnvelopeCipher(LocalMasterKeyWrapper(os.urandom(32)))


@pytest.fixture(autouse=True)
def services(database, cipher):
    """The process's container with the fake units of work and a local-key cipher for the test."""
    with bootstrap.replaced(units_of_work=database.units_of_work(), cipher=cipher) as built:
        yield built
