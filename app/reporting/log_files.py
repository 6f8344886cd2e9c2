"""Log lines: the rotating log file (or stdout), as text or JSON, with secrets struck out."""

import contextlib
import logging
import sys
from pathlib import Path

from concurrent_log_handler import ConcurrentRotatingFileHandler
from flask import Flask

from app.reporting.escaping import ExcInfo, escape_line_breaks, traceback_text
from app.reporting.json_lines import JsonLineFormatter
from app.reporting.reports import message_or_template, request_secrets, request_secrets_or_none
from app.security.redaction import strike

LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(message)s [in %(pathname)s:%(lineno)d]"
LOG_FILE_NAME = "microblog.log"


class RedactingFormatter(logging.Formatter):
    """Formats a record, then strikes out the app's and the request's secrets.

    A record is one line (line breaks from its message, a path say, are escaped)
    followed by its traceback.
    """

    def __init__(self, fmt: str, secrets: set[str]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_line_breaks(super().formatMessage(record))

    def formatException(self, ei: ExcInfo) -> str:  # type: ignore[override]
        return traceback_text(ei)

    def format(self, record: logging.LogRecord) -> str:
        try:
            return strike(super().format(record), self.secrets | request_secrets())
        except Exception as failure:
            return self.incomplete_line(record, failure)

    def incomplete_line(self, record: logging.LogRecord, failure: Exception) -> str:
        """The record all the same, when formatting it failed: the traceback and why."""
        line = escape_line_breaks(
            f"{self.formatTime(record)} {record.levelname} "
            f"[{getattr(record, 'request_id', '-')}] {message_or_template(record)} "
            f"(this log line is incomplete: {type(failure).__name__}: {failure}) "
            f"[in {record.pathname}:{record.lineno}]"
        )
        if record.exc_info:
            line += "\n" + traceback_text(record.exc_info)
        return strike(line, self.secrets | request_secrets_or_none())


def note_handler_failure(handler: logging.Handler, record: logging.LogRecord) -> None:
    """One line on standard error when a handler could not write a record.

    Replaces logging's "--- Logging error ---" dump of the handler's own
    traceback: the operator learns which record was lost and why, in one line.
    """
    error = sys.exc_info()[1]
    with contextlib.suppress(Exception):
        sys.stderr.write(
            f"microblog: a {record.levelname} log record (request "
            f"{getattr(record, 'request_id', '-')}) was not written by "
            f"{type(handler).__name__}: {type(error).__name__}: {error}\n"
        )


def log_line_handler(app: Flask, secrets: set[str]) -> logging.Handler:
    """The handler for log lines at INFO and above: a log file, or stdout."""
    if app.config["LOG_TO_STDOUT"]:
        handler: logging.Handler = logging.StreamHandler(sys.stdout)
    else:
        log_dir = Path(app.config["LOG_DIR"])
        log_dir.mkdir(parents=True, exist_ok=True)
        # Several gunicorn workers write to one file: this handler takes a file lock
        # around each write and each rotation, so no record is lost or interleaved.
        handler = ConcurrentRotatingFileHandler(
            str(log_dir / LOG_FILE_NAME),
            maxBytes=app.config["LOG_MAX_BYTES"],
            backupCount=app.config["LOG_BACKUP_COUNT"],
            encoding="utf-8",
        )
    handler.setLevel(logging.INFO)
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonLineFormatter(secrets))
    else:
        handler.setFormatter(RedactingFormatter(LOG_FORMAT, secrets))
    return handler
