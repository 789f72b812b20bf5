"""The mailer port and its adapters.

- ``CapturingMailer`` (local and tests): stores every message in
  ``outbound_mail`` so a developer can read reset and invite links (operator
  endpoint ``GET /operator/mail``) and prints a line to the console log.
- ``SesMailer`` (AWS): sends through SES.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from chalicelib.db.uow import system_uow
from chalicelib.observability import logger
from chalicelib.tables.identity import outbound_mail


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    kind: str


class Mailer(abc.ABC):
    """Sends one message."""

    @abc.abstractmethod
    def send(self, mail: Mail) -> None:
        ...


class CapturingMailer(Mailer):
    def send(self, mail: Mail) -> None:
        import uuid

        with system_uow() as uow:
            uow.execute(insert(outbound_mail).values(id=str(uuid.uuid4()), to_address=mail.to,
                                                     subject=mail.subject, body=mail.body, kind=mail.kind))
            uow.commit()
        logger.info("mail captured (read it with GET /operator/mail)", extra={"kind": mail.kind})


class SesMailer(Mailer):
    def __init__(self, ses_client: Any, sender: str) -> None:
        self._ses = ses_client
        self._sender = sender

    def send(self, mail: Mail) -> None:
        self._ses.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [mail.to]},
            Message={"Subject": {"Data": mail.subject}, "Body": {"Text": {"Data": mail.body}}},
        )
