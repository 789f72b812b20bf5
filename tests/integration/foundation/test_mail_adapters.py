"""The mailer adapters: SES through boto3 (emulated), and local capture."""

from sqlalchemy import select

from chalicelib.adapters import aws
from chalicelib.adapters.mail import CapturingMailer, Mail, SesMailer
from chalicelib.db.uow import system_uow
from chalicelib.tables.identity import outbound_mail


def test_ses_mailer_sends_through_the_emulated_ses(local_stack):
    ses = aws.client("ses")
    ses.verify_email_identity(EmailAddress="no-reply@stepline.test")
    before = ses.get_send_quota()["SentLast24Hours"]
    SesMailer(ses, "no-reply@stepline.test").send(Mail("someone@example.test", "Hello", "Body", "invite"))
    assert ses.get_send_quota()["SentLast24Hours"] == before + 1


def test_capturing_mailer_stores_the_message(local_stack):
    CapturingMailer().send(Mail("Capture@Example.test", "Subject", "the body", "password_reset"))
    with system_uow() as uow:
        rows = uow.execute(select(outbound_mail).where(outbound_mail.c.to_address == "Capture@Example.test")).all()
    assert len(rows) == 1 and rows[0].body == "the body"
