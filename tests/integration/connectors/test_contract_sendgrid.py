"""SendGrid connector contract against the loopback SendGrid fake."""

from __future__ import annotations

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import UpstreamRejected, UpstreamUnauthorized
from tests.fakes.vendors.contract import loopback_invoker
from tests.fakes.vendors.sendgrid import DEFAULT_API_KEY, FakeSendGrid, sendgrid_errors

SENDGRID = get_builtin("sendgrid")
MAIL = {
    "personalizations": [{"to": [{"email": "ops@example.com", "name": "Ops"}]}],
    "from": {"email": "noreply@example.com"},
    "subject": "Run failed",
    "content": [{"type": "text/plain", "value": "Step 3 failed."}],
}


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: contract tests need only the vendor fake."""


@pytest.fixture(scope="module")
def sendgrid():
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def invoke(sendgrid):
    sendgrid.clear()

    def run(action, input=None, key=DEFAULT_API_KEY, **kwargs):
        with loopback_invoker() as invoker:
            return invoker.invoke(
                SENDGRID,
                action,
                input=input or {},
                settings={"base_url": sendgrid.base_url},
                credentials={"api_key": key},
                **kwargs,
            )

    return run


def test_the_test_action_lists_the_key_scopes(sendgrid):
    with loopback_invoker() as invoker:
        result = invoker.test_connection(
            SENDGRID, settings={"base_url": sendgrid.base_url}, credentials={"api_key": DEFAULT_API_KEY}
        )
    assert "mail.send" in result.output["scopes"]
    assert sendgrid.last.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"


def test_send_email_is_accepted_with_202_and_a_message_id(sendgrid, invoke):
    result = invoke("send_email", {"body": MAIL})
    assert result.status == 202
    assert result.output["accepted"] is True and result.output["message_id"].startswith("fake-")
    assert sendgrid.sent == [MAIL] and sendgrid.last.path == "/v3/mail/send"


def test_contacts_are_upserted_then_found_by_email(invoke):
    job = invoke(
        "upsert_contacts", {"body": {"contacts": [{"email": "jane@example.com", "first_name": "Jane"}]}}
    )
    assert job.status == 202 and job.output["job_id"]
    found = invoke("search_contacts_by_email", {"body": {"emails": ["jane@example.com"]}})
    assert found.output["result"]["jane@example.com"]["contact"]["first_name"] == "Jane"


def test_sendgrid_error_lists_map_to_rejections_with_the_first_message_and_field(sendgrid, invoke):
    # GIVEN a mail our schema accepts but SendGrid refuses (it checks the sender address itself)
    sendgrid.script(
        sendgrid_errors(400, ("The from object must be provided for every email send.", "from.email"))
    )
    # WHEN it is sent THEN the vendor's first error becomes the message and its field the vendor code
    with pytest.raises(UpstreamRejected) as caught:
        invoke("send_email", {"body": MAIL})
    assert caught.value.upstream_status == 400 and caught.value.vendor_code == "from.email"
    assert "from object" in caught.value.message and caught.value.retryable is False


def test_a_search_without_matches_is_a_404_rejection(invoke):
    with pytest.raises(UpstreamRejected) as caught:
        invoke("search_contacts_by_email", {"body": {"emails": ["nobody@example.com"]}})
    assert caught.value.upstream_status == 404 and "No contacts found" in caught.value.message


def test_a_bad_key_is_unauthorized(invoke):
    with pytest.raises(UpstreamUnauthorized) as caught:
        invoke("list_scopes", key="SG.wrong.wrongwrongwrongwrong")
    assert "authorization required" in caught.value.message
