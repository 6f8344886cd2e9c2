"""The lean page with the libraries Microblog keeps: the floor under its home page.

bench/lean_app.py's page (the same HTML, statements, checks and headers), with
the work done the way the kept libraries do it, configured as Microblog
configures them: Flask-SQLAlchemy's request-scoped session (with pre-ping)
runs the statements, Flask-Login loads the user through its user loader (with
its session protection and remember-cookie handling), CSRFProtect checks each
request, and a request hook keeps the user's last-seen time (written at most
once a minute). Nothing else of Microblog's: no layout or macros, no request
ids, no input checks. What it costs beyond the lean page is what keeping those
libraries costs any page; bench/kept_libraries.py measures it.
"""

import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask_login import LoginManager, UserMixin, current_user, login_required
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from flask_wtf.csrf import generate_csrf
from sqlalchemy import bindparam, text

from app.auth.sessions import key_hash
from app.database import UTCDateTime, utcnow
from bench.lean_app import FEED, PAGE_SOURCE, PER_PAGE, add_security_headers, shown_page
from config import Config, parse_database_url

LAST_SEEN_INTERVAL = timedelta(minutes=1)
# bench/lean_app.py's user statement, with the last-seen time the hook reads.
USER = text(
    "SELECT u.id, u.username, u.session_token, u.last_seen, login.user_token, login.expires_at "
    'FROM login_session AS login JOIN "user" AS u ON u.id = login.user_id '
    "WHERE login.key_hash = :key_hash"
).columns(last_seen=UTCDateTime, expires_at=UTCDateTime)
# The time is bound through the column's own type, which stores it as the ORM does.
TOUCH = text('UPDATE "user" SET last_seen = :now WHERE id = :id').bindparams(
    bindparam("now", type_=UTCDateTime)
)

db = SQLAlchemy()
login = LoginManager()
csrf = CSRFProtect()


class Reader(UserMixin):
    def __init__(self, row: Any, login_key: str) -> None:
        self.id: int = row.id
        self.username: str = row.username
        self.last_seen: datetime | None = row.last_seen
        self.login_key = login_key

    def get_id(self) -> str:
        return self.login_key


@login.user_loader
def load_user(login_key: str) -> Reader | None:
    found = db.session.execute(USER, {"key_hash": key_hash(login_key)}).first()
    if (
        found is None
        or found.expires_at <= utcnow()
        or not secrets.compare_digest(found.user_token, found.session_token)
    ):
        return None
    return Reader(found, login_key)


def create_app() -> Flask:
    """The app, on the SECRET_KEY and DATABASE_URL that Microblog runs with."""
    app = Flask(__name__)
    app.secret_key = os.environ["SECRET_KEY"]
    app.config.update(
        SQLALCHEMY_DATABASE_URI=parse_database_url("DATABASE_URL", os.environ["DATABASE_URL"]),
        SQLALCHEMY_ENGINE_OPTIONS=Config.SQLALCHEMY_ENGINE_OPTIONS,
    )
    db.init_app(app)
    login.init_app(app)
    csrf.init_app(app)
    page = app.jinja_env.from_string(PAGE_SOURCE.read_text())

    @app.before_request
    def record_last_seen() -> None:
        if not current_user.is_authenticated:
            return
        now = utcnow()
        if current_user.last_seen is None or now - current_user.last_seen >= LAST_SEEN_INTERVAL:
            db.session.execute(TOUCH, {"now": now, "id": current_user.id})
            db.session.commit()
            current_user.last_seen = now

    @app.route("/index")
    @login_required
    def index() -> str:
        rows = db.session.execute(FEED, {"id": current_user.id, "limit": PER_PAGE + 1}).all()
        posts, next_after = shown_page(rows)
        return page.render(
            user=current_user, csrf_token=generate_csrf(), posts=posts, next_after=next_after
        )

    app.after_request(add_security_headers)
    return app
