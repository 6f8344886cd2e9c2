"""Where log records go outside debug and testing: a log file (or stdout) and email."""

import logging
import sys
from pathlib import Path

from concurrent_log_handler import ConcurrentRotatingFileHandler
from flask import Flask
from flask.logging import default_handler

from app.error_reports import request_secrets
from app.redaction import config_secrets, strike
from app.report_mailer import MailSettings, ReportQueueHandler, ReportSender
from app.request_id import RequestIdFilter

LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(message)s [in %(pathname)s:%(lineno)d]"
LOG_FILE_NAME = "microblog.log"


class RedactingFormatter(logging.Formatter):
    """Formats a record, then strikes out the app's and the request's secrets."""

    def __init__(self, fmt: str, secrets: set[str]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return strike(super().format(record), self.secrets | request_secrets())


def log_line_handler(app: Flask) -> logging.Handler:
    if app.config["LOG_TO_STDOUT"]:
        return logging.StreamHandler(sys.stdout)
    log_dir = Path(app.config["LOG_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    # Several gunicorn workers write to one file: this handler takes a file lock
    # around each write and each rotation, so no record is lost or interleaved.
    return ConcurrentRotatingFileHandler(
        str(log_dir / LOG_FILE_NAME),
        maxBytes=app.config["LOG_MAX_BYTES"],
        backupCount=app.config["LOG_BACKUP_COUNT"],
        encoding="utf-8",
    )


def init_app(app: Flask) -> None:
    if app.debug or app.testing:
        return
    logger = app.logger
    # app.logger is shared by every app of this name in the process: replace the
    # handlers a previous create_app() installed instead of stacking more.
    for handler in [h for h in logger.handlers if getattr(h, "microblog", False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.removeHandler(default_handler)
    logger.setLevel(logging.INFO)

    app_secrets = config_secrets(app.config)
    lines = log_line_handler(app)
    lines.setLevel(logging.INFO)
    lines.setFormatter(RedactingFormatter(LOG_FORMAT, app_secrets))
    install(logger, lines)

    if app.config["MAIL_SERVER"]:
        if not app.config["ADMINS"]:
            logger.warning("MAIL_SERVER is set but ADMINS is empty: no error emails")
        else:
            sender = ReportSender(
                MailSettings.from_config(app.config),
                app.config["ERROR_EMAIL_WINDOW"],
                log=logger.getChild("reports"),
            )
            mail = ReportQueueHandler(sender, app_secrets)
            mail.setLevel(logging.ERROR)
            install(logger, mail)
            app.extensions["report_sender"] = sender

    logger.info("Microblog startup")


def install(logger: logging.Logger, handler: logging.Handler) -> None:
    handler.addFilter(RequestIdFilter())
    handler.microblog = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
