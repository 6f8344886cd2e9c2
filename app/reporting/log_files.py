"""Log lines: the rotating log file (or stdout), as text or JSON, with secrets struck out."""

import logging
import sys
from pathlib import Path

from concurrent_log_handler import ConcurrentRotatingFileHandler
from flask import Flask

from app.reporting.json_lines import JsonLineFormatter
from app.reporting.redaction import strike
from app.reporting.reports import request_secrets

LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(message)s [in %(pathname)s:%(lineno)d]"
LOG_FILE_NAME = "microblog.log"


class RedactingFormatter(logging.Formatter):
    """Formats a record, then strikes out the app's and the request's secrets."""

    def __init__(self, fmt: str, secrets: set[str]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return strike(super().format(record), self.secrets | request_secrets())


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
