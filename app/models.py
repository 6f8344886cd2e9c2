"""The data: users and their posts."""

import secrets
from datetime import datetime
from functools import cache, lru_cache
from hashlib import md5

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.database import UTCDateTime, utcnow
from app.extensions import db


def new_session_token() -> str:
    return secrets.token_hex(32)


@cache
def dummy_password_hash() -> str:
    """A real hash of a random password: checking it costs what a real check costs."""
    return generate_password_hash(secrets.token_urlsafe(32))


@lru_cache(maxsize=4096)
def gravatar_hash(email: str) -> str:
    """Cached: a page of posts shows the same few authors' avatars again and again."""
    return md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def avatar_url(email: str, size: int) -> str:
    return f"https://www.gravatar.com/avatar/{gravatar_hash(email)}?d=identicon&s={size}"


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

    posts: Mapped[list["Post"]] = relationship(back_populates="author", lazy="raise_on_sql")

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

    author: Mapped[User] = relationship(back_populates="posts")

    # Pages list posts ORDER BY timestamp DESC, id DESC. With id in the index too
    # (SQLite adds it implicitly, PostgreSQL does not), a page's ids come from the
    # index alone, already in order: no sort, and a late page skips index entries.
    __table_args__ = (
        Index("ix_post_timestamp_id", "timestamp", "id"),  # the home page
        Index("ix_post_user_id_timestamp_id", "user_id", "timestamp", "id"),  # profiles
    )

    def __repr__(self) -> str:
        return f"<Post {self.body[:20]!r}>"
