"""Log lines as JSON objects, one a line, for log collectors (LOG_FORMAT=json)."""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, got_request_exception, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from app.reporting.escaping import ExcInfo, traceback_text
from app.reporting.jobs import current_job
from app.reporting.reports import (
    current_user_id,
    message_or_template,
    request_secrets,
    request_secrets_or_none,
    type_name,
)
from app.security.redaction import scrub

# Every line has these fields in this order, less those the record cannot know
# (no request outside a request, no status before the app has chosen one).
FIELDS = [
    "asctime",
    "levelname",
    "name",
    "message",
    "request_id",
    "method",
    "path",
    "status",
    "user_id",
    "job_id",
    "job_kind",
    "exc_type",
]
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "traceback"}
# What json.dumps(ensure_ascii=False) leaves as it is but a log viewer or
# str.splitlines() may take for a line break (DEL, C1, the Unicode separators).
RAW_LINE_BREAKING = re.compile("[\x7f-\x9f\u2028\u2029]")


def one_line_for_every_reader(line: str) -> str:
    """``line`` with those characters escaped the JSON way: the values are unchanged."""
    return RAW_LINE_BREAKING.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


class JsonLineFormatter(JsonFormatter):
    """python-json-logger's formatter with the request's context, secrets struck out."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__(FIELDS, rename_fields=RENAMED, json_ensure_ascii=False)
        self.secrets = secrets

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def formatException(self, ei: ExcInfo) -> str:  # type: ignore[override]
        # The text format's traceback, which the reports share (record.exc_text).
        return traceback_text(ei)

    def format(self, record: logging.LogRecord) -> str:
        try:
            return super().format(record)
        except Exception as failure:
            return self.incomplete_line(record, failure)

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        return one_line_for_every_reader(super().jsonify_log_record(log_data))

    def incomplete_line(self, record: logging.LogRecord, failure: Exception) -> str:
        """The record all the same, when formatting it failed: the traceback and why."""
        log_data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": message_or_template(record),
            "request_id": getattr(record, "request_id", "-"),
            "incomplete": f"{type(failure).__name__}: {failure}",
            "source": f"{record.pathname}:{record.lineno}",
        }
        if record.exc_info:
            log_data["traceback"] = traceback_text(record.exc_info)
        scrubbed = scrub(log_data, self.secrets | request_secrets_or_none())
        return one_line_for_every_reader(json.dumps(scrubbed, ensure_ascii=False, default=str))

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        if record.exc_info and record.exc_info[0] is not None:
            log_data["exc_type"] = type_name(record.exc_info[0])
        if has_request_context():
            log_data["method"] = request.method
            log_data["path"] = request.path
            log_data["status"] = g.get("response_status")
            log_data["user_id"] = current_user_id()
        job = current_job()
        if job is not None:
            log_data["job_id"] = job.id
            log_data["job_kind"] = job.kind
            log_data["user_id"] = str(job.user_id)
        log_data["source"] = f"{record.pathname}:{record.lineno}"

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        known = {key: value for key, value in log_data.items() if value is not None}
        return scrub(known, self.secrets | request_secrets())  # type: ignore[return-value]


def remember_failure_status(sender: Flask, exception: BaseException, **extra: object) -> None:
    """An unhandled exception is answered with a 500: say so on the lines logged from now on.

    Flask sends this signal just before it logs the exception, so the line with
    the traceback carries the status the user gets.
    """
    g.response_status = 500


def init_app(app: Flask) -> None:
    got_request_exception.connect(remember_failure_status, app)
