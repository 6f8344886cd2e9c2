"""A local SMTP server (aiosmtpd) that keeps every message it accepts.

with smtp_sink() as sink:          # sink.host, sink.port, sink.inbox
    ...
    [message] = sink.inbox.wait_for(1)
"""

import contextlib
import gc
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from testkit.services.processes import free_port, wait_until

HOST = "127.0.0.1"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, seconds: float = 10) -> list[EmailMessage]:
        """The messages, once there are at least ``count`` of them (or time ran out)."""
        wait_until(lambda: len(self.messages) >= count, seconds)
        return self.messages

    def settle(self, seconds: float = 1.0) -> list[EmailMessage]:
        """Give stray (unwanted) messages a moment to arrive, then return them all."""
        time.sleep(seconds)
        return self.messages


@dataclass
class SmtpSink:
    inbox: Inbox
    host: str
    port: int


def body_of(message: EmailMessage) -> str:
    return message.get_content().replace("\r\n", "\n")


def context_of(message: EmailMessage) -> dict[str, str]:
    """The "Label:  value" lines at the top of a report."""
    return dict(re.findall(r"^([A-Z][A-Za-z ]+):\s+(.*)$", body_of(message), re.MULTILINE))


@contextlib.contextmanager
def smtp_sink(inbox: Inbox | None = None, **controller_kwargs: Any) -> Iterator[SmtpSink]:
    """Run an SMTP server on a free loopback port for the duration of a ``with`` block.

    ``controller_kwargs`` go to aiosmtpd's ``Controller`` (``ssl_context``,
    ``tls_context``, ``require_starttls``, ``authenticator``...).
    """
    inbox = inbox if inbox is not None else Inbox()
    for attempt in range(3):
        port = free_port()
        controller = Controller(inbox, hostname=HOST, port=port, **controller_kwargs)
        try:
            controller.start()
            break
        except OSError:  # another process took the port first
            if attempt == 2:
                raise
    try:
        yield SmtpSink(inbox, HOST, port)
    finally:
        controller.stop()
        # A connection the mailer thread had not yet closed when the block ended stays
        # open on aiosmtpd's stopped loop and is left to the garbage collector, which
        # warns. Collect it here, where that is expected, rather than in a later test.
        del controller
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
