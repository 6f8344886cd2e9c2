"""Request input that no page can use, refused before any view or query sees it."""

from collections.abc import Iterator

from flask import Flask, abort, request

NUL_REFUSED = "The request contains a NUL character, which no page of this site accepts."


def submitted_text() -> Iterator[str]:
    yield request.path
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            yield key
            yield value


def refuse_nul_characters() -> None:
    # PostgreSQL cannot store NUL in text and fails the query (a 500); no field of
    # this site needs one, so it is the client's error.
    if any("\x00" in text for text in submitted_text()):
        abort(400, description=NUL_REFUSED)


def init_app(app: Flask) -> None:
    # First in line: before CSRF, rate limits and views touch the input.
    app.before_request(refuse_nul_characters)
