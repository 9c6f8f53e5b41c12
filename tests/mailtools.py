"""A real SMTP server for mail tests: aiosmtpd on 127.0.0.1 with a scriptable relay."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kovflow.notify.mailers import SmtpMailer


@dataclass
class Relay:
    """An SMTP handler: refuses the first ``temporary`` messages with 451, or every recipient
    with 550 when ``permanent``; counts EHLOs (one per client connection)."""

    temporary: int = 0
    permanent: bool = False
    ehlos: int = 0
    envelopes: list[Any] = field(default_factory=list)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.ehlos += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.permanent:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.temporary > 0:
            self.temporary -= 1
            return "451 4.3.0 try again later"
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [parse(e.content) for e in self.envelopes]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default_policy)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    relay: Relay
    port: int
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.relay, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def mailer(self) -> SmtpMailer:
        return SmtpMailer(host="127.0.0.1", port=self.port, sender="kovflow@gemeente.example",
                          timeout=5)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(Relay(), free_port())
    srv.start()
    yield srv
    srv.stop()
