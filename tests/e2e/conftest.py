"""Every end-to-end test runs against the real PostgreSQL and the AWS emulation."""

import pytest


@pytest.fixture(autouse=True)
def _stack(local_stack):
    return local_stack
