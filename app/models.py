"""The data: users, who follows whom, and their posts."""

import secrets
from datetime import datetime
from functools import cache
from hashlib import md5

from flask_login import UserMixin
from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    ScalarSelect,
    String,
    Table,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.database import UTCDateTime, utcnow
from app.extensions import db


def new_session_token() -> str:
    return secrets.token_hex(32)


@cache
def dummy_password_hash() -> str:
    """A real hash of a random password: checking it costs what a real check costs."""
    return generate_password_hash(secrets.token_urlsafe(32))


def gravatar_hash(email: str) -> str:
    return md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def avatar_url(email: str, size: int) -> str:
    return f"https://www.gravatar.com/avatar/{gravatar_hash(email)}?d=identicon&s={size}"


# Who follows whom: one row per pair, so the primary key itself refuses a second
# follow, however many requests race. The primary key serves "whom does X follow";
# the second index serves "who follows X" (a profile's count and list).
followers = Table(
    "followers",
    db.metadata,
    Column("follower_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("followed_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_followers_followed_id_follower_id", "followed_id", "follower_id"),
)


def following_count_of(user_id: ColumnElement[int] | int) -> ScalarSelect[int]:
    """How many people ``user_id`` follows, as a subquery (a column makes it correlated)."""
    count = select(func.count()).select_from(followers)
    return count.where(followers.c.follower_id == user_id).scalar_subquery()


def followers_count_of(user_id: ColumnElement[int] | int) -> ScalarSelect[int]:
    """How many people follow ``user_id``, as a subquery (a column makes it correlated)."""
    count = select(func.count()).select_from(followers)
    return count.where(followers.c.followed_id == user_id).scalar_subquery()


# ON CONFLICT DO NOTHING is spelled the same way by both backends, but each
# dialect builds its own statement.
_INSERT_BY_DIALECT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    about_me: Mapped[str | None] = mapped_column(String(140))
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # Every login records the token of its time (app.auth.sessions): a new one on
    # every password change ends every login made before it.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    # How many people the user follows: it decides how their feed is read
    # (app.main.queries.feed_for). Deferred: only the signed-in user's is loaded
    # (with the login, app.auth.sessions), other users' only when asked for.
    following_count: Mapped[int] = column_property(following_count_of(id), deferred=True)

    # Case-insensitive uniqueness lives in the database, the authority when two
    # requests race: "Alice" and "alice" can never both exist.
    __table_args__ = (
        Index("uq_user_username_lower", func.lower(username), unique=True),
        Index("uq_user_email_lower", func.lower(email), unique=True),
    )

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    # The key of the login (app.auth.sessions) this object was loaded through or
    # signed in with: what Flask-Login keeps in the session and the remember cookie.
    login_key = None

    def get_id(self) -> str | None:
        return self.login_key

    def set_password(self, password: str) -> None:
        """Store a new password hash and end every session that used the old one."""
        self.password_hash = generate_password_hash(password)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    @classmethod
    def authenticate(cls, username: str, password: str) -> "User | None":
        """The user with this name and password, or None; as slow either way.

        An unknown name still costs one password hash, so response times do not
        tell an attacker which usernames exist.
        """
        user = cls.by_username(username)
        if user is None or user.password_hash is None:
            check_password_hash(dummy_password_hash(), password)
            return None
        return user if user.check_password(password) else None

    def follow(self, user: "User") -> bool:
        """Follow ``user``; False when already following (a racing request included).

        The database settles races: the insert does nothing when the pair exists,
        so a double click or two browsers at once never make a second row or an
        error. The caller commits.
        """
        if user.id == self.id:
            raise ValueError("a user cannot follow themselves")
        insert = _INSERT_BY_DIALECT[db.session.get_bind().dialect.name]
        statement = insert(followers).values(follower_id=self.id, followed_id=user.id)
        # RETURNING, not rowcount: psycopg reports no count for a skipped insert.
        inserted = statement.on_conflict_do_nothing().returning(followers.c.follower_id)
        return db.session.execute(inserted).first() is not None

    def unfollow(self, user: "User") -> bool:
        """Stop following ``user``; False when not following. The caller commits."""
        result = db.session.execute(
            delete(followers).where(
                followers.c.follower_id == self.id, followers.c.followed_id == user.id
            )
        )
        return result.rowcount == 1

    def avatar(self, size: int) -> str:
        return avatar_url(self.email, size)

    @classmethod
    def by_username(cls, username: str) -> "User | None":
        return db.session.scalar(select(cls).where(func.lower(cls.username) == username.lower()))

    @classmethod
    def by_email(cls, email: str) -> "User | None":
        return db.session.scalar(select(cls).where(func.lower(cls.email) == email.lower()))


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(140))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id))

    author: Mapped[User] = relationship()

    # Pages list posts ORDER BY timestamp DESC, id DESC. With id in the index too
    # (SQLite adds it implicitly, PostgreSQL does not), a page's ids come from the
    # index alone, already in order: no sort, and a late page skips index entries.
    __table_args__ = (
        Index("ix_post_timestamp_id", "timestamp", "id"),  # the home page
        Index("ix_post_user_id_timestamp_id", "user_id", "timestamp", "id"),  # profiles
    )

    def __repr__(self) -> str:
        return f"<Post {self.body[:20]!r}>"
