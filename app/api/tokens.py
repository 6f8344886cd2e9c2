"""API tokens: issued to a user, stored only as a hash, ending at their expiry.

A token is 32 random bytes (``secrets.token_urlsafe``) behind a fixed prefix that
says what it is (``mbt_``), shown once, when issued. The table keeps its SHA-256:
a token has 256 bits of entropy, so a fast hash is enough (no one can guess their
way back from it, unlike a password), and it is what each request looks up by
the unique index. A token ends at its expiry, when revoked, and with every password
change: it holds the user's session token of its time, as a login does
(app/auth/sessions.py), so a new password ends every token minted before it.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column, undefer

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models import User

PREFIX = "mbt_"
# What a token is: the prefix and 43 characters of base64url (32 bytes).
TOKEN_LENGTH = len(PREFIX) + 43
# How many characters of a token its list shows, so that its owner can tell them
# apart: the prefix and 4 characters (24 bits of 256).
SHOWN_LENGTH = len(PREFIX) + 4
DEFAULT_DAYS = 30
MAX_DAYS = 365
MAX_NAME_LENGTH = 64
# The largest id a row can have (SQL INTEGER): bigger numbers are not sent to the database.
MAX_TOKEN_ID = 2**31 - 1
# A user's live tokens at once: enough for every script and device, and a bound on
# the rows one account can make.
MAX_LIVE_TOKENS = 50
# How often a token's last use is written: at most once a minute, so that reading
# through the API is not a database write per request.
LAST_USED_INTERVAL = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    # Only the hash of the token: a copy of this table authenticates nobody.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, for its owner's list (see SHOWN_LENGTH).
    shown: Mapped[str] = mapped_column(String(SHOWN_LENGTH))
    # The user's session token when this one was issued (see the module's docstring).
    user_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} of user {self.user_id}>"


def is_live(user: User) -> object:
    """The criterion of ``user``'s tokens that still authenticate."""
    return (
        (ApiToken.user_id == user.id)
        & (ApiToken.expires_at > utcnow())
        & (ApiToken.user_token == user.session_token)
    )


def live_tokens_of(user: User) -> list[ApiToken]:
    """``user``'s tokens that still authenticate, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(is_live(user))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def live_token_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken).where(is_live(user)))


def issue_token(user: User, name: str, days: int) -> tuple[ApiToken, str]:
    """A new token of ``user`` for ``days`` days, and its text (never stored).

    The user's tokens that ended on their own (expired, or minted before a password
    change) are cleared away here, where the user's rows are written anyway. The
    caller checks MAX_LIVE_TOKENS and commits.
    """
    now = utcnow()
    db.session.execute(
        delete(ApiToken).where(
            ApiToken.user_id == user.id,
            or_(ApiToken.expires_at <= now, ApiToken.user_token != user.session_token),
        )
    )
    text = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_hash(text),
        shown=text[:SHOWN_LENGTH],
        user_token=user.session_token,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    return token, text


def revoke_token(user: User, token_id: int) -> bool:
    """Revoke ``user``'s token ``token_id``; False when they have no such token."""
    result = db.session.execute(
        delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    return result.rowcount == 1


# Built once: every API request runs it.
TOKEN_AND_USER = (
    select(ApiToken.id, ApiToken.expires_at, ApiToken.user_token, ApiToken.last_used_at, User)
    .join_from(ApiToken, User, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    # The home feed reads it to choose how to read the feed (app.main.queries).
    .options(undefer(User.following_count))
)


def user_of_token(text: str) -> tuple[int, User] | None:
    """The id of the token ``text`` and its user, while the token lasts; else None."""
    if len(text) != TOKEN_LENGTH or not text.startswith(PREFIX):
        return None  # no token this site issued: no query
    found = db.session.execute(TOKEN_AND_USER, {"token_hash": token_hash(text)}).first()
    if found is None:
        return None
    token_id, expires_at, user_token, last_used_at, user = found
    now = utcnow()
    if expires_at <= now or not secrets.compare_digest(user_token, user.session_token):
        return None
    if last_used_at is None or now - last_used_at >= LAST_USED_INTERVAL:
        db.session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
        )
        db.session.commit()
    return token_id, user
