"""Every error under /api as an RFC 9457 problem details object.

``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and
the request id (``request_id``, the reference the log file, the error email and
Sentry know the failure by). A plain HTTP error has the type ``about:blank``
and the status's own phrase as its title, as RFC 9457 asks; the API's own
problems have types of their own, documented on the API's page (``TYPES``).

The app's error handlers (app/errors/handlers.py) answer with ``problem_response``
whenever the request's path is under the API: the routing errors (404, 405)
reach no blueprint, so the path decides, not the blueprint.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import marshmallow as ma
from flask import request
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from app.languages import N_, translated
from app.reporting.request_ids import current_request_id

PREFIX = "/api/"
MEDIA_TYPE = "application/problem+json"
# The API's own problem types: a URI reference each, resolved against the request's
# URL to the section of the API's page that explains it.
INVALID_REQUEST = "/api/v1/docs#problem-invalid-request"
VERSION_CONFLICT = "/api/v1/docs#problem-version-conflict"
TYPES = {
    INVALID_REQUEST: (
        "Some fields of the request are invalid: the member errors names each field "
        "and what is wrong with it."
    ),
    VERSION_CONFLICT: (
        "The post changed after the version the request names: the member "
        "current_version gives its version now."
    ),
}


# The titles and details are prose, translated into the reader's language when sent
# (Accept-Language); a plain HTTP error's title is its status's phrase, as Werkzeug
# names it (in the catalogues: app/languages/extraction.py). The machine fields (type,
# status, field names) never are.
INVALID_REQUEST_TITLE = N_("Invalid request")


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


class FieldErrorSchema(ma.Schema):
    location = ma.fields.String(
        required=True, metadata={"description": "Where the field was sent: json or query"}
    )
    field = ma.fields.String(required=True, metadata={"description": "The field, dotted"})
    detail = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with the request id and, when fields were wrong, ``errors``."""

    type = ma.fields.String(required=True, metadata={"format": "uri-reference"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    request_id = ma.fields.String(
        required=True, metadata={"description": "Quote it when reporting a failure"}
    )
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))
    current_version = ma.fields.Integer(
        metadata={"description": "On a version conflict: the post's version now"}
    )


def field_errors(messages: Mapping[str, Any]) -> list[dict[str, str]]:
    """webargs' validation messages ({location: {field: [message]}}) as a flat list."""
    found: list[dict[str, str]] = []

    def walk(location: str, path: tuple[str, ...], value: object) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(location, (*path, str(key)), inner)
        elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            for message in value:
                found.append({"location": location, "field": ".".join(path), "detail": message})
        elif isinstance(value, Iterable) and not isinstance(value, str):
            for index, inner in enumerate(value):
                walk(location, (*path, str(index)), inner)
        else:
            found.append({"location": location, "field": ".".join(path), "detail": str(value)})

    for location, errors in messages.items():
        walk(str(location), (), errors)
    for error in found:
        # Marshmallow's name for an error of the whole body.
        if error["field"] in ("", "_schema"):
            error["field"] = "(body)"
    return found


def problem(
    status: int,
    detail: str,
    type_: str = "about:blank",
    title: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    **members: Any,
) -> Response:
    body = {
        "type": type_,
        "title": translated(title or HTTP_STATUS_CODES.get(status, "Unknown Error")),
        "status": status,
        "detail": translated(detail),
        "request_id": current_request_id() or "-",
        **members,
    }
    return Response(json.dumps(body), status, list(headers), mimetype=MEDIA_TYPE)


def problem_response(error: HTTPException) -> Response:
    """The problem details of ``error``, its headers kept (Allow, Retry-After...)."""
    status = error.code or 500
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    headers += list(getattr(error, "problem_headers", ()))
    data = getattr(error, "data", None) or {}
    if "messages" in data:  # webargs' validation errors (flask-smorest's arguments)
        errors = field_errors(data["messages"])
        # The field messages formatted in the client's language already are not in the
        # catalogue, and stay as they are (app/api/field_messages.py).
        for error in errors:
            error["detail"] = translated(error["detail"])
        detail = " ".join(f"{e['field']}: {e['detail']}" for e in errors)
        return problem(
            status, detail, INVALID_REQUEST, INVALID_REQUEST_TITLE, headers, errors=errors
        )
    type_ = getattr(error, "problem_type", "about:blank")
    members = getattr(error, "problem_members", {})
    return problem(status, error.description or "", type_, None, headers, **members)


def abort_with_problem(
    status: int,
    detail: str,
    type_: str = "about:blank",
    headers: Iterable[tuple[str, str]] = (),
    **members: Any,
) -> NoReturn:
    """Stop the request with a problem of ``type_`` and its extension ``members``.

    Raised, not returned: the view's transaction ends in the error handlers, as
    every other failure's does.
    """
    error = default_exceptions[status](description=detail)
    error.problem_type = type_  # type: ignore[attr-defined]
    error.problem_members = members  # type: ignore[attr-defined]
    error.problem_headers = list(headers)  # type: ignore[attr-defined]
    raise error
