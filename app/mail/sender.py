"""The app's one way to send mail: a background thread, with storm control for error reports.

A failing request only builds its report and puts it on a queue; one thread per
process sends it. So a slow or dead SMTP server never delays a response, and a
burst of identical failures becomes one email plus one digest, not an inbox flood.
Ordinary messages (a password reset link) go through the same queue and thread,
each sent a moment after it was queued: storm control only ever sees error reports.
"""

import atexit
import email.policy
import logging
import queue
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from app.mail.storms import AdminReport, StormControl
from app.process_threads import STOP, ProcessThread
from app.security.redaction import strike
from config import ConfigError

EXIT_FLUSH_SECONDS = 10
# An ordinary message waits this long after it was queued. By then the request
# that queued it has answered, so this thread's work (building the message,
# talking SMTP) does not compete with that request for the interpreter (the GIL):
# otherwise a request that sends mail would answer a few milliseconds later than
# one that does not, telling an observer whether an address has an account.
MAIL_DELAY_SECONDS = 0.25


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    recipients: list[str]
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 5.0

    @classmethod
    def from_config(cls, config: dict) -> "MailSettings":
        if config["MAIL_USE_TLS"] and config["MAIL_USE_SSL"]:
            raise ConfigError(
                "MAIL_USE_TLS (STARTTLS, port 587) and MAIL_USE_SSL (implicit TLS, port 465) "
                "exclude each other: set one of them"
            )
        return cls(
            host=config["MAIL_SERVER"],
            port=config["MAIL_PORT"],
            sender=config.get("MAIL_SENDER") or f"no-reply@{config['MAIL_SERVER']}",
            recipients=list(config["ADMINS"]),
            use_tls=config["MAIL_USE_TLS"],
            use_ssl=config["MAIL_USE_SSL"],
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            timeout=config["MAIL_TIMEOUT"],
        )


@dataclass(frozen=True)
class Email:
    """One message: a plain text body, and optionally the same in HTML."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None


def deliver(settings: MailSettings, mail: Email) -> None:
    """Send one email now; raises on any failure (the caller decides what to do)."""
    # Subjects stay on one header line (RFC 5322 allows 998 characters), so that
    # every mail client shows them the same way.
    message = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    message["Subject"] = mail.subject
    message["From"] = settings.sender
    message["To"] = ", ".join(mail.to)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    context = ssl.create_default_context()
    if settings.use_ssl:
        connection = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with connection:
        if settings.use_tls:
            connection.starttls(context=context)
        if settings.username:
            connection.login(settings.username, settings.password or "")
        connection.send_message(message)


@dataclass(frozen=True)
class QueuedEmail:
    mail: Email
    not_before: float  # time.monotonic()


class SenderTally:
    """What the sender tells of its work. Counts nothing: app.metrics counts it, when on."""

    def queued(self) -> None:
        """A report was put on the queue (ordinary messages are not counted here)."""

    def taken(self) -> None:
        """The sender took a report off the queue."""

    def mailed(self, kind: str) -> None:
        """An email ("report", "digest" or an ordinary "email") went out."""

    def folded(self) -> None:
        """A repeat was kept for its digest instead of mailed."""

    def failed(self, kind: str) -> None:
        """An email ("report", "digest" or an ordinary "email") could not be sent."""


class MailSender:
    """The per-process thread that mails reports, their digests and ordinary messages."""

    def __init__(
        self,
        settings: MailSettings,
        window_seconds: float,
        log: logging.Logger,
        send: Callable[[MailSettings, Email], None] = deliver,
    ) -> None:
        self.settings = settings
        self.window = window_seconds
        self.log = log
        self.send_mail = send
        self.thread = ProcessThread("mail-sender", self._run)
        self.tally = SenderTally()

    def submit(self, report: AdminReport) -> None:
        """Mail an error report to the admins, subject to storm control."""
        self._start()
        self.tally.queued()  # first: the sender may take it at once
        self.thread.put(report)

    def send(self, mail: Email) -> None:
        """Mail an ordinary message as it is, never counted as an error report."""
        self._start()
        self.thread.put(QueuedEmail(mail, time.monotonic() + MAIL_DELAY_SECONDS))

    def _start(self) -> None:
        if self.thread.start():
            # What is queued when the process ends is sent first (``stop``).
            atexit.register(self.stop)

    def stop(self, timeout: float = EXIT_FLUSH_SECONDS) -> None:
        """Send what is pending (digests included), then end the thread; the next
        mail starts it again."""
        self.thread.stop(timeout)

    def _run(self, items: queue.SimpleQueue[Any]) -> None:
        storms = StormControl(self.window)
        while True:
            deadline = storms.next_deadline()
            wait = None if deadline is None else max(deadline - time.monotonic(), 0)
            try:
                item = items.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is STOP:
                for subject, body in storms.close_windows(time.monotonic(), everything=True):
                    self._send_report(subject, body, "digest")
                return
            if isinstance(item, QueuedEmail):
                time.sleep(max(item.not_before - time.monotonic(), 0))
                self._send(item.mail, "email")
            elif item is not None:  # an error report
                self.tally.taken()
                if storms.admit(item, time.monotonic()):
                    self._send_report(item.subject, item.body, "report")
                else:
                    self.tally.folded()
            for subject, body in storms.close_windows(time.monotonic()):
                self._send_report(subject, body, "digest")

    def _send_report(self, subject: str, body: str, kind: str) -> None:
        self._send(Email(tuple(self.settings.recipients), subject, body), kind)

    def _send(self, mail: Email, kind: str) -> None:
        """Send ``mail`` now; ``kind`` is "report", "digest" or "email" (an ordinary message)."""
        try:
            self.send_mail(self.settings, mail)
        except Exception as error:
            self.tally.failed(kind)
            # Written to the log file, never raised: mail must not fail the site. An
            # SMTP error can quote the recipients: their addresses stay out of the log.
            self.log.warning(
                "Could not send %s %r to %s:%s: %s: %s",
                "email" if kind == "email" else "error report",  # a digest is a report too
                mail.subject,
                self.settings.host,
                self.settings.port,
                type(error).__name__,
                strike(str(error), mail.to),
            )
        else:
            self.tally.mailed(kind)
