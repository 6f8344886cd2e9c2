"""Turning a failure into a report an operator can act on.

Everything here runs in the failing request's own thread, while the request is
still live: the report is complete (and stripped of secrets) before it is handed
to the background sender.
"""

import contextlib
import functools
import logging
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import g, has_request_context, request, session

from app.reporting.redaction import masked_pairs, sensitive_values, strike
from app.reporting.request_ids import current_request_id

APP_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = APP_DIR.parent
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
MAX_SUBJECT_DETAIL = 200
TRACEBACK_FORMATTER = logging.Formatter()


@dataclass(frozen=True)
class Report:
    subject: str
    body: str
    fingerprint: str
    request_id: str


def one_line(text: str, limit: int = MAX_SUBJECT_DETAIL) -> str:
    """Text safe for a mail header: no line breaks or control characters, bounded."""
    cleaned = UNPRINTABLE.sub("?", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def request_secrets() -> set[str]:
    """Sensitive values this request carries (path, form, query, cookies, credentials).

    A part of the path is a secret when the route names it so: the ``token`` of a
    password reset link is struck from the logged request line and the report URL.
    """
    if not has_request_context():
        return set()
    if "report_secrets" not in g:
        pairs = [*request.args.items(multi=True), *request.cookies.items(multi=True)]
        pairs += [(key, str(value)) for key, value in (request.view_args or {}).items()]
        # A body that cannot be parsed holds no form values to hide.
        with contextlib.suppress(Exception):
            pairs += request.form.items(multi=True)
        found = sensitive_values(pairs)
        authorization = request.headers.get("Authorization", "")
        found.update({authorization, authorization.partition(" ")[2]})
        g.report_secrets = found
    return g.report_secrets


@functools.lru_cache(maxsize=1024)
def app_source_path(filename: str) -> str | None:
    """``app/main/routes.py`` for a file of our app, None for any other file.

    Cached: resolving a path costs system calls, a traceback holds a dozen frames,
    and during an incident every request fails through the same few files.
    """
    path = Path(filename).resolve()
    return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(APP_DIR) else None


def innermost_app_frame(tb: TracebackType) -> str:
    """Where in our own code the failure surfaced, as ``app/main/routes.py:42``.

    Walks the frames without reading source lines: the text of the traceback is
    formatted once, in ``exception_text``.
    """
    frames = [(frame.f_code.co_filename, lineno) for frame, lineno in traceback.walk_tb(tb)]
    for filename, lineno in reversed(frames):
        source = app_source_path(filename)
        if source is not None:
            return f"{source}:{lineno}"
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else "-"


def exception_text(record: logging.LogRecord) -> str:
    """The record's formatted traceback, computed at most once per record.

    ``logging.Formatter`` caches the same text in ``record.exc_text``: the log
    line handler and the report share it instead of formatting it twice.
    """
    if not record.exc_text:
        record.exc_text = TRACEBACK_FORMATTER.formatException(record.exc_info)
    return record.exc_text


def describe_user() -> str:
    # Only what is already in memory: the database may be the thing that failed,
    # and a report must never issue SQL of its own.
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        state = sa.inspect(user, raiseerr=False)
        loaded = state.dict if state is not None else {}
        return f"id {loaded.get('id', '?')} ({loaded.get('username', 'name not loaded')})"
    user_id = str(session.get("_user_id", "")).partition(":")[0]
    return f"id {user_id} (not loaded)" if user_id else "anonymous"


def masked_url() -> str:
    query = urlencode(masked_pairs(request.args.items(multi=True)), safe="[]")
    return request.base_url + (f"?{query}" if query else "")


def submitted_field_names() -> str:
    try:
        names = list(dict.fromkeys(request.form.keys()))
    except Exception:
        return "(body could not be read)"
    return ", ".join(names) if names else "(none)"


def request_context_lines() -> list[tuple[str, str]]:
    if not has_request_context():
        return [("Request", "none (outside a web request)")]
    user_agent = request.user_agent.string or "-"
    return [
        ("Request id", current_request_id() or "-"),
        ("Method", request.method),
        ("URL", masked_url()),
        ("Endpoint", request.endpoint or "-"),
        ("User", describe_user()),
        ("Client address", request.remote_addr or "-"),
        ("User agent", one_line(user_agent, 300)),
        ("Form fields", submitted_field_names()),
    ]


def build_report(record: logging.LogRecord, app_secrets: set[str]) -> Report:
    """A complete report for one ERROR record, with ``app_secrets`` struck out."""
    exc_type, exc, tb = record.exc_info or (None, None, None)
    where = f" at {request.method} {request.path}" if has_request_context() else ""
    if exc_type is not None:
        subject = f"Microblog Failure: {exc_type.__name__}{where}"
        details = exception_text(record)
    else:
        subject = f"Microblog Failure: {record.getMessage()}{where}"
        details = "(no traceback)"
    endpoint = request.endpoint if has_request_context() else None
    fingerprint = " | ".join(
        [exc_type.__qualname__ if exc_type else record.getMessage()[:100]]
        + [innermost_app_frame(tb) if tb else f"{record.pathname}:{record.lineno}"]
        + [endpoint or "-"]
    )
    try:
        context = request_context_lines()
    except Exception as error:  # a report without context beats no report
        context = [("Request context", f"unavailable ({type(error).__name__})")]
    width = max(len(label) for label, _ in context) + 1
    body = "\n".join(
        [
            f"{record.levelname}: {record.getMessage()}",
            "",
            *(f"{label + ':':<{width}} {value}" for label, value in context),
            "",
            details,
        ]
    )
    secrets = app_secrets | request_secrets()
    return Report(
        subject=one_line(strike(subject, secrets)),
        body=strike(body, secrets),
        fingerprint=fingerprint,
        request_id=current_request_id() or "-",
    )
