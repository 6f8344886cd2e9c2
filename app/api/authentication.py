"""Who is calling the API: a bearer token on every call, HTTP Basic to obtain one.

The API reads no cookie: a request is its token's user's or nobody's, so a page
of another site cannot make a signed-in browser call it (no CSRF token is needed,
none is read: the API's blueprints are exempt from CSRFProtect). The user is kept
in ``g`` (``api_user``), apart from Flask-Login's ``current_user``, which stays
the browser session's and which the API never reads.
"""

import functools
from typing import Any

from flask import g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from app.api.tokens import user_of_token
from app.languages import N_
from app.models import User
from app.security.input_checks import LONE_SURROGATE
from app.security.rate_limits import View

REALM = "Microblog API"
# Messages, not secrets (ruff's S105 reads "TOKEN" and "PASSWORD" in their names).
NO_TOKEN = N_("This call needs a token: send the header Authorization: Bearer <token>.")  # noqa: S105
BAD_TOKEN = N_("The token is unknown, expired or revoked. Obtain a new one.")  # noqa: S105
NO_PASSWORD = N_("Send your username and password with HTTP Basic authentication.")  # noqa: S105
BAD_PASSWORD = N_("Invalid username or password.")  # noqa: S105


def refuse(detail: str, scheme: str = "bearer", **parameters: str) -> Unauthorized:
    challenge = WWWAuthenticate(scheme, {"realm": REALM, **parameters})
    return Unauthorized(description=detail, www_authenticate=challenge)


def bearer_token() -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


def api_user() -> User:
    """The user of the request's token (views decorated with ``token_required``)."""
    return g.api_user


def current_token_id() -> int:
    return g.api_token_id


def token_required(view: View) -> View:
    """The view answers only a call with a live token (401 otherwise)."""

    @functools.wraps(view)
    def authenticated(*args: Any, **kwargs: Any) -> Any:
        text = bearer_token()
        if not text:
            raise refuse(NO_TOKEN)
        found = user_of_token(text)
        if found is None:
            raise refuse(BAD_TOKEN, error="invalid_token")
        g.api_token_id, g.api_user = found
        g.api_user_id = g.api_user.id
        return view(*args, **kwargs)

    return authenticated


def is_text(value: str) -> bool:
    # A NUL fails PostgreSQL's query, a lone surrogate every encoder: no name has one.
    return "\x00" not in value and LONE_SURROGATE.search(value) is None


def basic_credentials() -> tuple[str, str]:
    """The username and password of HTTP Basic authentication (401 without them)."""
    given = request.authorization
    if given is None or given.type != "basic" or not given.username or not given.password:
        raise refuse(NO_PASSWORD, "basic")
    if not (is_text(given.username) and is_text(given.password)):
        raise refuse(BAD_PASSWORD, "basic")
    return given.username, given.password
