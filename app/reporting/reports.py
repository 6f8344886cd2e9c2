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
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request, session

from app.reporting.escaping import traceback_text
from app.reporting.jobs import current_job, job_context_lines
from app.reporting.request_ids import client_request_id, current_reference, current_request_id
from app.security.input_checks import has_body
from app.security.redaction import masked_pairs, sensitive_values, strike

APP_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = APP_DIR.parent
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
MAX_SUBJECT_DETAIL = 200


@dataclass(frozen=True)
class Report:
    subject: str
    body: str
    fingerprint: str
    request_id: str


def type_name(exc_type: type) -> str:
    """``KeyError`` for a built-in exception, ``testkit.crashing.DeliberateFailure`` otherwise."""
    if exc_type.__module__ == "builtins":
        return exc_type.__qualname__
    return f"{exc_type.__module__}.{exc_type.__qualname__}"


def one_line(text: str, limit: int = MAX_SUBJECT_DETAIL) -> str:
    """Text safe for a mail header: no line breaks or control characters, bounded."""
    cleaned = UNPRINTABLE.sub("?", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def text_pairs(pairs: object) -> list[tuple[str, str]]:
    """The (key, value) pairs that are text; a malformed body can hold other things."""
    return [(k, v) for k, v in pairs if isinstance(k, str) and isinstance(v, str)]


def submitted_pairs() -> list[tuple[str, str]]:
    """The text fields of the body, form or JSON; none when it cannot be read."""
    if not has_body():
        return []  # most failing requests: a GET, nothing for Werkzeug to parse
    pairs: list[tuple[str, str]] = []
    with contextlib.suppress(Exception):
        pairs += text_pairs(request.form.items(multi=True))
    with contextlib.suppress(Exception):
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict):
            pairs += text_pairs(body.items())
    return pairs


def request_secrets() -> set[str]:
    """Sensitive values of this request (path, form, JSON, query, cookies, credentials).

    A part of the path is a secret when the route names it so: the ``token`` of a
    password reset link is struck from the logged request line and the report URL,
    from JSON log lines and from Sentry events.
    """
    if not has_request_context():
        return set()
    if "report_secrets" not in g:
        pairs = [*request.args.items(multi=True), *request.cookies.items(multi=True)]
        # A token in the path, such as /reset_password/<token>.
        pairs += [(key, str(value)) for key, value in (request.view_args or {}).items()]
        found = sensitive_values(pairs + submitted_pairs())
        authorization = request.headers.get("Authorization", "")
        found.update({authorization, authorization.partition(" ")[2]})
        g.report_secrets = found
    return g.report_secrets | login_key()


def login_key() -> set[str]:
    """The key of the login the session names (app.auth.sessions): it signs a browser in.

    Read only once something else has read the session (loading the user does):
    reading it here first would mark every response "Vary: Cookie".
    """
    if not session.accessed:
        return set()
    key = session.get("_user_id")
    return {key} if isinstance(key, str) and key else set()


def request_secrets_or_none() -> set[str]:
    """``request_secrets()``, or nothing when even that fails (for the last-resort texts)."""
    try:
        return request_secrets()
    except Exception:
        return set()


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
        record.exc_text = traceback_text(record.exc_info)
    return record.exc_text


# Only what is already in memory, in the two functions below: the database may be
# the thing that failed, and a report must never issue SQL of its own.


def loaded_user() -> dict[str, object] | None:
    """The logged-in user's loaded columns, or None when no user was loaded.

    A ``User`` signed in during the request is read from its loaded state: reading
    an attribute would query a database that may be what failed.
    """
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    state = sa.inspect(user, raiseerr=False)
    if state is not None:
        return dict(state.dict)
    return {"id": getattr(user, "id", None), "username": getattr(user, "username", None)}


def current_user_id() -> str | None:
    """The id of the request's loaded user, or None.

    The session names a login by its key (app.auth.sessions), a secret that says
    nothing of the user without a query: a user not loaded has no id here.
    """
    if not has_request_context():
        return None
    loaded = loaded_user()
    if loaded is not None and loaded.get("id") is not None:
        return str(loaded["id"])
    return None


def describe_user() -> str:
    loaded = loaded_user()
    if loaded is not None:
        return f"id {loaded.get('id', '?')} ({loaded.get('username', 'name not loaded')})"
    # The session names a login by its key, a secret: say only that there is one.
    return "not loaded (the session names a login)" if session.get("_user_id") else "anonymous"


def masked_url() -> str:
    """The URL with sensitive query values masked, on the site's own host (SERVER_NAME).

    The host is what the client claimed in its Host header: an admin must not be
    led to click another site's address, so a host that is not the configured one
    is named beside the URL instead.
    """
    query = urlencode(masked_pairs(request.args.items(multi=True)), safe="[]")
    url = urlsplit(request.base_url + (f"?{query}" if query else ""))
    configured = current_app.config.get("SERVER_NAME")
    if not configured or url.netloc.lower() == configured.lower():
        return url.geturl()
    claimed = one_line(request.host, 100)
    return f"{url._replace(netloc=configured).geturl()} (the client asked for host {claimed!r})"


def submitted_field_names() -> str:
    if not has_body():
        return "(none)"
    try:
        names = [str(name) for name in dict.fromkeys(request.form.keys())]
    except Exception:
        return "(body could not be read)"
    return one_line(", ".join(names), 500) if names else "(none)"


def request_context_lines() -> list[tuple[str, str]]:
    """The report's context: the job's (if one is being run or settled), then the request's."""
    job = current_job()
    lines = job_context_lines(job) if job is not None else []
    if not has_request_context():
        return lines or [("Request", "none (outside a web request)")]
    return lines + request_lines()


def request_lines() -> list[tuple[str, str]]:
    user_agent = request.user_agent.string or "-"
    return [
        ("Request id", current_request_id() or "-"),
        *[("Client request id", one_line(sent, 128)) for sent in [client_request_id()] if sent],
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
    job = current_job()
    if job is not None:
        where = f" in job {job.kind}"
    elif has_request_context():
        where = f" at {request.method} {request.path}"
    else:
        where = ""
    if exc_type is not None:
        subject = f"Microblog Failure: {exc_type.__name__}{where}"
        details = exception_text(record)
    else:
        subject = f"Microblog Failure: {record.getMessage()}{where}"
        details = "(no traceback)"
    endpoint = request.endpoint if has_request_context() else None
    if job is not None:
        endpoint = f"job {job.kind}"  # a job's failures are grouped by its kind
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
        request_id=current_reference() or "-",
    )


def message_or_template(record: logging.LogRecord) -> str:
    """The record's message; its bare template when the arguments do not fit it."""
    try:
        return record.getMessage()
    except Exception:
        return str(record.msg)


def incomplete_report(
    record: logging.LogRecord, app_secrets: set[str], failure: BaseException
) -> Report:
    """The report when ``build_report`` failed: the original traceback and what went wrong.

    Only steps that cannot fail in their turn: the failure must still reach the
    admins, with a note saying why the rest of the report is missing.
    """
    exc_type = record.exc_info[0] if record.exc_info else None
    what = exc_type.__name__ if exc_type else message_or_template(record)
    try:
        details = exception_text(record) if record.exc_info else "(no traceback)"
    except Exception:
        details = "(the traceback could not be formatted either)"
    request_id = current_reference() or "-"
    body = "\n".join(
        [
            f"{record.levelname}: {message_or_template(record)}",
            "",
            f"Request id: {request_id}",
            f"Note:       this report is incomplete: building it failed with "
            f"{type(failure).__name__}: {failure}",
            "",
            details,
        ]
    )
    secrets = app_secrets | request_secrets_or_none()
    return Report(
        subject=one_line(strike(f"Microblog Failure: {what} (incomplete report)", secrets)),
        body=strike(body, secrets),
        fingerprint=f"{exc_type.__qualname__ if exc_type else what[:100]} | incomplete report",
        request_id=request_id,
    )
