"""Request input that no page can use, refused before any view or query sees it.

Every form of this site is made of text fields. Flask-WTF fills a form from an
urlencoded or multipart body, from uploaded files and from a JSON body alike, so
anything else a client sends (a number, a list, an object, a file) would reach
code that expects a string. These checks look at the parsed request, not at any
one form, so they hold for every form, including the ones added later.

The API's views (``accept_typed_json``) validate their JSON bodies with schemas
of their own, numbers included: there every string of the body, however deep, is
checked for NUL and lone surrogates, and the schemas decide the rest.
"""

import re
from collections.abc import Iterable

from flask import Blueprint, Flask, abort, current_app, request

from app.languages import N_

NUL_REFUSED = N_("The request contains a NUL character, which no page of this site accepts.")
NOT_TEXT_REFUSED = N_(
    "Every form value must be text: a JSON body must be one object whose values are strings."
)
FILE_REFUSED = N_("No page of this site accepts uploaded files.")
NAMELESS_REFUSED = N_("The form data could not be read: a part of it has no name.")
BAD_TEXT_REFUSED = N_("The request contains text that is not valid Unicode.")

# app.extensions' key: the names of the blueprints whose views validate typed JSON.
TYPED_JSON = "typed_json_blueprints"

# Half of a UTF-16 pair on its own: JSON's "\ud800" escape decodes to one, and no
# database, log file or email can encode it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_oversized_body() -> None:
    """A body sent without Content-Length (chunked) is held to MAX_CONTENT_LENGTH too.

    Werkzeug refuses a declared length over the limit before reading anything, but
    it reads an undeclared one only up to the limit and silently drops the rest: a
    form cut short would pass for the whole form. The body is read here once (at
    most the limit; the form and JSON parsers then read this copy) and refused
    when anything follows it.
    """
    limit = request.max_content_length
    if limit is None or request.content_length is not None:
        return
    body = request.get_data(cache=True, parse_form_data=False)
    if len(body) >= limit and request.environ["wsgi.input"].read(1):
        abort(413)


def json_fields() -> Iterable[tuple[object, object]]:
    """The (name, value) pairs of a JSON body, which must be one object."""
    if not request.get_data(cache=True):
        return []
    try:
        # An undecodable body is Flask's own 400.
        body = request.get_json()
    except RecursionError:  # nested deeper than the JSON parser can follow
        abort(400, description=NOT_TEXT_REFUSED)
    if not isinstance(body, dict):
        abort(400, description=NOT_TEXT_REFUSED)
    return body.items()


def json_texts() -> list[str]:
    """Every key and string of a JSON body, at any depth, walked without recursion
    (a body nested as deep as the parser allows must not exhaust the stack here)."""
    if not request.get_data(cache=True):
        return []
    try:
        pending = [request.get_json()]
    except RecursionError:
        abort(400, description=N_("The JSON body is nested too deeply."))
    texts = []
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            texts += value.keys()
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return texts


def accepts_typed_json() -> bool:
    return request.blueprint in current_app.extensions.get(TYPED_JSON, ())


def submitted_fields() -> Iterable[tuple[object, object]]:
    """Every (name, value) a form could be filled from: query, body, JSON."""
    if request.files:
        abort(400, description=FILE_REFUSED)
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    if request.is_json and not accepts_typed_json():
        fields += json_fields()
    return fields


def has_body() -> bool:
    """HTTP's rule: a request without Content-Length or Transfer-Encoding has no body."""
    return bool(request.content_length or "Transfer-Encoding" in request.headers)


def carries_input() -> bool:
    """Whether the request has a query string or a body, not only a path.

    Most requests are GETs with neither, and skip the parsing below.
    """
    return bool(request.query_string) or has_body()


def submitted_texts() -> list[str]:
    """Every name and value submitted, each checked to be text."""
    refuse_oversized_body()
    texts = []
    for name, value in submitted_fields():
        # Werkzeug names a multipart part that has no name None.
        if not isinstance(name, str):
            abort(400, description=NAMELESS_REFUSED)
        if not isinstance(value, str):
            abort(400, description=NOT_TEXT_REFUSED)
        texts += [name, value]
    if request.is_json and accepts_typed_json():
        texts += json_texts()
    return texts


def refuse_unusable_input() -> None:
    texts = [request.path]
    if carries_input():
        texts += submitted_texts()
    # PostgreSQL cannot store NUL in text and fails the query (a 500); no field of
    # this site needs one, so it is the client's error.
    if any("\x00" in text for text in texts):
        abort(400, description=NUL_REFUSED)
    if any(LONE_SURROGATE.search(text) for text in texts):
        abort(400, description=BAD_TEXT_REFUSED)


def accept_typed_json(app: Flask, *blueprints: Blueprint) -> None:
    """Let the views of ``blueprints`` take JSON bodies of any types (their schemas
    check them); their strings are still checked for NUL and lone surrogates."""
    app.extensions.setdefault(TYPED_JSON, set()).update(bp.name for bp in blueprints)


def init_app(app: Flask) -> None:
    # First in line: before CSRF, rate limits and views touch the input.
    app.before_request(refuse_unusable_input)
