"""Error reports by email: built in the failing thread, mailed by app.mail's sender."""

import logging
from logging.handlers import QueueHandler

from app.mail.sender import MailSender
from app.reporting.reports import Report, build_report, incomplete_report


class ReportQueueHandler(QueueHandler):
    """Builds the report in the failing thread, then hands it to the sender."""

    def __init__(self, sender: MailSender, app_secrets: set[str]) -> None:
        super().__init__(queue=None)  # type: ignore[arg-type]
        self.sender = sender
        self.app_secrets = app_secrets

    def prepare(self, record: logging.LogRecord) -> Report:  # type: ignore[override]
        try:
            return build_report(record, self.app_secrets)
        except Exception as failure:
            # The admins still hear of the failure, with the traceback they need.
            return incomplete_report(record, self.app_secrets, failure)

    def enqueue(self, report: Report) -> None:  # type: ignore[override]
        self.sender.submit(report)
