"""Logins: one server-side record per signed-in browser, and the cookies that name it.

Signing in makes a record (``LoginSession``) whose random key goes into the
browser's session and, with "Remember me", its remember cookie; Flask-Login
hands the key back to ``load_user``. Logging out deletes the record, so a copy
of either cookie signs nobody in afterwards. A record also ends at its expiry
(``REMEMBER_COOKIE_DAYS`` when remembered, the session lifetime otherwise) and
with every password change (it holds the user's session token of its time); a
password reset by email ends all of them at once (``end_every_login``).
"""

import hashlib
import re
import secrets
from datetime import datetime

from flask import Flask, current_app, request, session
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME
from sqlalchemy import ForeignKey, String, bindparam, delete, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column, undefer

from app.database import UTCDateTime, utcnow
from app.extensions import db, login
from app.models import UnreadCounts, User, unread_conversations_of, unread_notifications_of

# What Flask-Login writes is printable ASCII: "<login key>|<hex signature>".
REMEMBER_COOKIE_SHAPE = re.compile(r"[!-~]{1,512}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
MAX_USER_AGENT = 200


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class LoginSession(db.Model):
    """A browser signed in to an account: made at sign-in, deleted at sign-out."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"), index=True)
    # Only a hash of the key the cookies carry: a copy of this table signs nobody in.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The user's session token at sign-in: a password change gives the user a new
    # one, which ends every login made before it.
    user_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remembered: Mapped[bool] = mapped_column(default=False)
    # What the user sees in the list of their logins.
    user_agent: Mapped[str] = mapped_column(String(MAX_USER_AGENT), default="")
    address: Mapped[str] = mapped_column(String(45), default="")

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} of user {self.user_id}>"

    @property
    def is_this_browser(self) -> bool:
        return current_user.is_authenticated and self.key_hash == key_hash(current_user.login_key)


# Built once: a statement keeps its cache key, and its compiled SQL is found at once.
# The unread counts of the navigation bar come with the user, so that showing them
# costs a page no statement of its own (and the poll of app.notifications none at all).
USER_OF_LOGIN = (
    select(
        User,
        LoginSession.expires_at,
        LoginSession.user_token,
        unread_conversations_of(User.id),
        unread_notifications_of(User.id),
        # The locale selector reads it on every page (app.languages.selection).
        User.language,
    )
    .join_from(LoginSession, User, LoginSession.user_id == User.id)
    .where(LoginSession.key_hash == bindparam("key_hash"))
    # The home page reads it to choose how to read the feed (app.main.queries).
    .options(undefer(User.following_count))
)


def login_lasts(expires_at: datetime, login_token: str, user_token: str) -> bool:
    """Whether a login found by its key still signs its browser in: it has not expired,
    and it was made with the user's current session token (no password change since)."""
    return expires_at > utcnow() and secrets.compare_digest(login_token, user_token)


@login.user_loader
def load_user(login_key: str) -> User | None:
    """The user of the login a session or remember cookie names, while that login lasts.

    The one user object of a request: pages read ``current_user``, and the views
    that change the account change it and commit.
    """
    found = db.session.execute(USER_OF_LOGIN, {"key_hash": key_hash(login_key)}).first()
    if found is None:
        return None  # logged out, signed out elsewhere, or a cookie from before 0005
    user, expires_at, user_token, unread_messages, unread_notifications, language = found
    if not login_lasts(expires_at, user_token, user.session_token):
        return None
    user.login_key = login_key
    user.unread_counts = UnreadCounts(unread_messages, unread_notifications)
    user.chosen_language = language
    return user


# The unread counts of the login a session names, with what says whether that login
# lasts (``login_lasts``), in one Core statement: the poll's fast path
# (app.notifications.poll), which builds no user object.
COUNTS_OF_LOGIN = (
    select(
        LoginSession.expires_at,
        LoginSession.user_token,
        User.session_token,
        unread_conversations_of(User.id),
        unread_notifications_of(User.id),
    )
    .join_from(LoginSession, User, LoginSession.user_id == User.id)
    .where(LoginSession.key_hash == bindparam("key_hash"))
)


def sign_in(user: User, remember: bool = False) -> None:
    """Sign ``user`` in in this browser: a fresh session and a new login record."""
    # A fresh session: nothing planted before (session fixation) survives sign-in.
    session.clear()
    now = utcnow()
    # The user's logins that ended on their own (expired, or made before a password
    # change) are cleared away here, where the user's rows are written anyway.
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id,
            or_(LoginSession.expires_at <= now, LoginSession.user_token != user.session_token),
        )
    )
    config = current_app.config
    lifetime = (
        config["REMEMBER_COOKIE_DURATION"] if remember else config["PERMANENT_SESSION_LIFETIME"]
    )
    key = secrets.token_hex(32)
    user_agent = CONTROL_CHARACTERS.sub("", request.user_agent.string)[:MAX_USER_AGENT]
    db.session.add(
        LoginSession(
            user_id=user.id,
            key_hash=key_hash(key),
            user_token=user.session_token,
            created_at=now,
            expires_at=now + lifetime,
            remembered=remember,
            user_agent=user_agent,
            address=(request.remote_addr or "")[:45],
        )
    )
    db.session.commit()
    user.login_key = key
    login_user(user, remember=remember)


def sign_out() -> None:
    """End this browser's login: neither of its cookies signs anybody in again."""
    if current_user.is_authenticated:
        db.session.execute(
            delete(LoginSession).where(LoginSession.key_hash == key_hash(current_user.login_key))
        )
        db.session.commit()
    # Clear first: logout_user() then leaves its note to delete the remember cookie.
    session.clear()
    logout_user()


def keep_only_this_login(user: User) -> int:
    """End every other login of ``user`` (the caller commits); return how many ended.

    This browser's login takes the user's current session token, so it outlives
    the password change that gave the user a new one.
    """
    this = key_hash(user.login_key)
    ended = db.session.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.key_hash != this)
    ).rowcount
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.key_hash == this)
        .values(user_token=user.session_token)
    )
    return ended


def end_every_login(user: User) -> int:
    """End every login of ``user`` (the caller commits); return how many ended."""
    return db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id)).rowcount


def logins_of(user: User) -> list[LoginSession]:
    """The logins of ``user`` that still sign a browser in, newest first."""
    return list(
        db.session.scalars(
            select(LoginSession)
            .where(
                LoginSession.user_id == user.id,
                LoginSession.expires_at > utcnow(),
                LoginSession.user_token == user.session_token,
            )
            .order_by(LoginSession.created_at.desc(), LoginSession.id.desc())
        )
    )


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
