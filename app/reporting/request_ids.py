"""A request id for every request: in the response, the log lines and the reports."""

import logging
import re
import secrets

from flask import Flask, current_app, g, has_request_context, request
from werkzeug.wrappers import Response

from app.reporting.jobs import current_job

HEADER = "X-Request-ID"
# A trusted proxy's id is kept only when it is short and plain, so that it can go
# into a log line, an email header or a page without escaping or forging lines.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def client_request_id() -> str | None:
    """An X-Request-ID the client sent and the app did not adopt (reports show it)."""
    return g.get("client_request_id") if has_request_context() else None


def request_id_for(incoming: str, proxies_trusted: bool) -> str:
    """The id of a request that came with ``incoming`` as its X-Request-ID ("" if none)."""
    # Only a proxy the app trusts (TRUSTED_PROXIES) names the request: a client's own
    # id could make two failures share one error reference, or point to someone
    # else's log lines.
    if proxies_trusted and SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    # 128 random bits as 32 hex digits, like uuid4().hex.
    return secrets.token_hex(16)


def assign_request_id() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = request_id_for(incoming, current_app.config["TRUSTED_PROXIES"] > 0)
    if incoming and g.request_id != incoming:
        g.client_request_id = incoming


def return_request_id(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id") or "-"
    return response


def current_reference() -> str | None:
    """The job's reference (``job-42``) while a job is run or settled, else the request id.

    The job first: a request that settles a job (an account page finds it lost)
    reports about the job, under the job's name.
    """
    job = current_job()
    return job.reference if job is not None else current_request_id()


class RequestIdFilter(logging.Filter):
    """Stamp every record with the id of the request (or job) it was written in, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_reference() or "-"
        return True


def init_app(app: Flask) -> None:
    app.before_request(assign_request_id)
    app.after_request(return_request_id)
