"""The second ceiling: the logged-in home page at the least it costs in Flask.

The same HTML as Microblog's ``/index`` (bench/lean_index.html, written from its
output), the same 20 posts from the same database, and the same checks: the user
comes from the signed session cookie Microblog set at login, then one indexed
lookup of its login record (app/auth/sessions.py) with the user row, checked for
expiry and against the user's session token; the page's posts come from one
indexed query; a CSRF token (Flask-WTF's) for the forms; the same security
headers. Nothing is cached between requests. What it leaves out is the
machinery around that work: ORM objects, extensions' request hooks, the layout's
macros and url_for builds.
"""

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from flask import Flask, Response, abort, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import create_engine, text

from app.auth.sessions import key_hash
from app.database import UTCDateTime, utcnow
from app.models import gravatar_hash
from app.security.headers import CONTENT_SECURITY_POLICY
from app.templating import utc_time
from config import parse_database_url

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
PER_PAGE = 20
PAGE_SOURCE = Path(__file__).resolve().parent / "lean_index.html"

USER = text(
    "SELECT u.id, u.username, u.session_token, login.user_token, login.expires_at "
    'FROM login_session AS login JOIN "user" AS u ON u.id = login.user_id '
    "WHERE login.key_hash = :key_hash"
).columns(expires_at=UTCDateTime)
# Microblog's feed for someone following 20 or more (app/models.py, WALK_FEED_FROM).
FEED = text(
    "SELECT post.id, post.body, post.timestamp, u.username, u.email "
    'FROM post JOIN "user" AS u ON u.id = post.user_id '
    "WHERE post.user_id + 0 IN (SELECT followed_id FROM followers WHERE follower_id = :id) "
    "OR post.user_id + 0 = :id "
    "ORDER BY post.timestamp DESC, post.id DESC LIMIT :limit"
).columns(timestamp=UTCDateTime)


class Shown(NamedTuple):
    author: str
    avatar_hash: str
    body: str
    time: Markup


def shown_page(rows: Sequence[Any]) -> tuple[list[Shown], int | None]:
    """FEED's rows (one more than a page) as the page shows them, and the "Older" link's post."""
    # Microblog's own helpers for the avatar's hash and the <time> element: they
    # are the least that markup costs (a cached hash, isoformat rather than strftime).
    posts = [
        Shown(author, gravatar_hash(email), body, utc_time(moment))
        for _, body, moment, author, email in rows[:PER_PAGE]
    ]
    next_after = rows[PER_PAGE - 1].id if len(rows) > PER_PAGE else None
    return posts, next_after


def add_security_headers(response: Response) -> Response:
    """Microblog's security headers (app/security/headers.py), on every response."""
    response.headers.update(HEADERS)
    return response


def create_app() -> Flask:
    """The lean app, on the SECRET_KEY and DATABASE_URL that Microblog runs with."""
    app = Flask(__name__)
    app.secret_key = os.environ["SECRET_KEY"]
    engine = create_engine(parse_database_url("DATABASE_URL", os.environ["DATABASE_URL"]))
    page = app.jinja_env.from_string(PAGE_SOURCE.read_text())

    @app.route("/index")
    def index() -> str:
        login_key = session.get("_user_id")
        if not isinstance(login_key, str):
            abort(401)
        with engine.connect() as connection:
            user = connection.execute(USER, {"key_hash": key_hash(login_key)}).first()
            if (
                user is None
                or user.expires_at <= utcnow()
                or not secrets.compare_digest(user.user_token, user.session_token)
            ):
                abort(401)
            rows = connection.execute(FEED, {"id": user.id, "limit": PER_PAGE + 1}).all()
        posts, next_after = shown_page(rows)
        return page.render(
            user=user, csrf_token=generate_csrf(), posts=posts, next_after=next_after
        )

    app.after_request(add_security_headers)
    return app
