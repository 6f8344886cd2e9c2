"""Logins: the cookies that keep a browser signed in, and what the server accepts of them."""

import re

from flask import Flask, current_app, request, session
from flask_login.config import COOKIE_NAME

# What Flask-Login writes is printable ASCII: "<login id>|<hex signature>".
REMEMBER_COOKIE_SHAPE = re.compile(r"[!-~]{1,512}")


def ignore_malformed_remember_cookie() -> None:
    """Skip, and delete, a remember cookie this site cannot have written.

    Flask-Login checks the cookie's signature with ``hmac.compare_digest``, which
    raises TypeError on non-ASCII text: such a cookie failed every page, the
    error page too. The session note below is Flask-Login's own (``logout_user``
    leaves it): the cookie is not read in this request, and the response deletes it.
    """
    name = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
    cookie = request.cookies.get(name)
    if cookie is not None and not REMEMBER_COOKIE_SHAPE.fullmatch(cookie):
        session["_remember"] = "clear"


def init_app(app: Flask) -> None:
    app.before_request(ignore_malformed_remember_cookie)
