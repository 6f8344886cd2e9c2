"""Failures to Sentry (SENTRY_DSN): the official SDK and its Flask integration.

Only ``app.reporting.init_app`` imports this module, and only when SENTRY_DSN is
set: without a DSN nothing of ``sentry_sdk`` is loaded. The SDK sends from a
background thread of its own, so a slow or unreachable Sentry never delays a
request. What it sends about a request is tagged with the request id (the error
reference on the 500 page) and the endpoint, and an event with the user id; all
of it passes through the same redaction as the emails (``before_send``).
"""

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import sentry_sdk
from flask import Flask, has_request_context, request
from sentry_sdk.integrations.flask import FlaskIntegration

from app.reporting.jobs import JobContext, current_job
from app.reporting.reports import current_user_id, request_secrets
from app.reporting.request_ids import current_request_id
from app.security.redaction import scrub
from config import BASE_DIR

Event = dict[str, Any]


def init_app(app: Flask, app_secrets: set[str]) -> None:
    """Start the SDK for this process (it is process-wide: the last app built wins)."""
    config = app.config
    privacy: dict[str, Any] = {}
    if config["SENTRY_SEND_PII"]:
        # sentry-sdk 2.x replaces send_default_pii (deprecated) with data_collection:
        # user_info adds the logged-in user's email and name and the client's address.
        privacy["data_collection"] = {"user_info": True}
    sentry_sdk.init(
        dsn=config["SENTRY_DSN"],
        integrations=[FlaskIntegration()],
        environment=config["SENTRY_ENVIRONMENT"],
        release=config["SENTRY_RELEASE"] or git_commit(),
        # None rather than 0: no request even starts an unsampled trace.
        traces_sample_rate=config["SENTRY_TRACES_SAMPLE_RATE"] or None,
        before_send=scrubbed_events(app_secrets, config["SENTRY_SEND_PII"]),
        before_send_transaction=scrubbed_traces(app_secrets),
        **privacy,
    )
    # After request_ids' own hook (reporting.init_app registers that first).
    app.before_request(tag_with_request)
    if config["SENTRY_TRACES_SAMPLE_RATE"] > 0:
        app.teardown_request(keep_secrets_for_trace)
    app.extensions["sentry"] = sentry_sdk.get_client()


def git_commit() -> str | None:
    """The commit of the code that runs, when it runs from a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as an operator runs it
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def scrubbed_events(app_secrets: set[str], send_pii: bool) -> Callable[[Event, dict], Event]:
    """The ``before_send`` hook: add the user id, strike the app's and the request's secrets."""

    def before_send(event: Event, hint: dict) -> Event:
        # The SDK calls this in the thread that captured the event: for a failing
        # request, while the request is still live.
        if has_request_context():
            add_user_id(event)
        elif current_job() is not None:
            add_job_user_id(event, current_job())
        return scrubbed(event, app_secrets | request_secrets(), keep_user_fields=send_pii)

    return before_send


# A trace is sent just after its request has ended, in the same thread and context but
# without the request: the request's last hook leaves its secrets here for it.
ENDED_REQUEST_SECRETS: ContextVar[frozenset[str]] = ContextVar(
    "ended_request_secrets", default=frozenset()
)


def keep_secrets_for_trace(error: BaseException | None) -> None:
    ENDED_REQUEST_SECRETS.set(frozenset(request_secrets()))


def scrubbed_traces(app_secrets: set[str]) -> Callable[[Event, dict], Event]:
    """The ``before_send_transaction`` hook: the same redaction, for performance data."""

    def before_send_transaction(event: Event, hint: dict) -> Event:
        return scrubbed(event, app_secrets | ENDED_REQUEST_SECRETS.get())

    return before_send_transaction


def scrubbed(event: Event, secrets: set[str], keep_user_fields: bool = False) -> Event:
    """``event`` with sensitive keys masked and ``secrets`` struck from every string.

    With ``keep_user_fields`` (SENTRY_SEND_PII) the fields of the event's user are
    not masked for their names: its email is what the operator asked for, though an
    "email" key is masked anywhere else. Secrets are still struck from their values.
    """
    # Local variables arrive as their repr(): a secret with a quote, a backslash or a
    # control character is written escaped there.
    secrets = secrets | {repr(secret)[1:-1] for secret in secrets}
    # _meta holds the SDK's notes on what it cut or filtered, never a value.
    result = {
        key: value if key == "_meta" else scrub(value, secrets) for key, value in event.items()
    }
    user = event.get("user")
    if keep_user_fields and isinstance(user, dict):
        result["user"] = {key: scrub(value, secrets) for key, value in user.items()}
    return result


def tag_with_request() -> None:
    """Tag all the SDK sends about this request (events, traces) with its id and endpoint."""
    scope = sentry_sdk.get_isolation_scope()  # the SDK gives each request its own
    scope.set_tag("request_id", current_request_id() or "-")
    scope.set_tag("endpoint", request.endpoint or "-")


def add_user_id(event: Event) -> None:
    # Only for events, which are rare: reading the session here, not on every
    # request, keeps other responses free of "Vary: Cookie".
    user_id = current_user_id()
    if user_id is not None:
        event.setdefault("tags", {})["user_id"] = user_id
        event.setdefault("user", {})["id"] = user_id


def add_job_user_id(event: Event, job: JobContext) -> None:
    event.setdefault("tags", {})["user_id"] = str(job.user_id)
    event.setdefault("user", {})["id"] = str(job.user_id)


@contextlib.contextmanager
def job_scope(job: JobContext) -> Iterator[None]:
    """Tag all the SDK sends while ``job`` runs, as ``tag_with_request`` tags a request's."""
    with sentry_sdk.isolation_scope() as scope:
        scope.set_tag("request_id", job.reference)
        scope.set_tag("job_id", str(job.id))
        scope.set_tag("job_kind", job.kind)
        scope.set_tag("endpoint", f"job {job.kind}")
        yield
