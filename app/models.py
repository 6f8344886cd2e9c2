"""The data: users, who follows whom, and their posts."""

import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from hashlib import md5
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    ScalarSelect,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.post_text import hashtags_in


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
        dialect_insert = _INSERT_BY_DIALECT[db.session.get_bind().dialect.name]
        statement = dialect_insert(followers).values(follower_id=self.id, followed_id=user.id)
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

    @classmethod
    def existing_names(cls, names: Iterable[str]) -> set[str]:
        """Which of ``names`` (lower-cased) are users' names, lower-cased: one query."""
        wanted = sorted(set(names))
        if not wanted:
            return set()
        return set(db.session.scalars(_NAMES_AMONG, {"names": wanted}))


# Built once: a list page runs it on every view (User.existing_names).
_LOWER_NAME = func.lower(User.username)
_NAMES_AMONG = select(_LOWER_NAME).where(_LOWER_NAME.in_(bindparam("names", expanding=True)))


# A post's rows in every list: a deleted post stays (its replies still answer it)
# but no list shows it, so the lists' indexes leave it out too.
LIVE = text("deleted_at IS NULL")


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(140))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id))
    # The post this one answers. A deleted post keeps its row (with its text
    # removed), so a reply always points at something its page can show.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("post.id"))
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised by every edit and by the deletion: a form names the version it showed,
    # and a save over a newer one is refused (see ``edit``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    author: Mapped[User] = relationship()

    # Pages list posts ORDER BY timestamp DESC, id DESC. With id in the index too
    # (SQLite adds it implicitly, PostgreSQL does not), a page's ids come from the
    # index alone, already in order: no sort, and a late page skips index entries.
    # Partial indexes (live posts only): the lists' "deleted_at IS NULL" is answered
    # by the index itself.
    __table_args__ = (
        Index(  # the home page
            "ix_post_timestamp_id", "timestamp", "id", sqlite_where=LIVE, postgresql_where=LIVE
        ),
        Index(  # profiles
            "ix_post_user_id_timestamp_id",
            "user_id",
            "timestamp",
            "id",
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(  # a post's replies, oldest first, and their count
            "ix_post_reply_to_id_timestamp_id",
            "reply_to_id",
            "timestamp",
            "id",
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
    )

    def __repr__(self) -> str:
        return f"<Post {self.body[:20]!r}>"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @classmethod
    def publish(cls, body: str, author_id: int, reply_to: "Post | None" = None) -> "Post":
        """A new post, a reply when ``reply_to`` is given, with its hashtags.

        The caller commits.
        """
        post = cls(body=body, user_id=author_id, reply_to_id=reply_to.id if reply_to else None)
        db.session.add(post)
        db.session.flush()
        post._tag(hashtags_in(body))
        return post

    def edit(self, body: str, opened_version: int) -> bool:
        """Save ``body`` unless the post changed after ``opened_version``; False if it did.

        One conditional UPDATE settles races: of two saves of the same version,
        however close, only one finds it. The caller commits; either way the
        attributes reload when next read, so a refused save can show the post as it is.
        """
        changed = self._change_version(opened_version, {"body": body, "edited_at": utcnow()})
        if changed:
            self._untag()
            self._tag(hashtags_in(body))
        db.session.expire(self)
        return changed

    def delete(self, opened_version: int) -> bool:
        """Delete the post unless it changed after ``opened_version``; False if it did.

        The row stays, without its text, for its replies to answer. The caller commits.
        """
        changed = self._change_version(opened_version, {"body": "", "deleted_at": utcnow()})
        if changed:
            self._untag()
        db.session.expire(self)
        return changed

    def _change_version(self, opened_version: int, changes: dict[str, Any]) -> bool:
        result = db.session.execute(
            update(Post)
            .where(Post.id == self.id, Post.version == opened_version, Post.deleted_at.is_(None))
            .values(version=Post.version + 1, **changes)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _tag(self, tags: Iterable[str]) -> None:
        rows = [{"post_id": self.id, "tag": tag, "timestamp": self.timestamp} for tag in tags]
        if rows:
            db.session.execute(insert(post_tags), rows)

    def _untag(self) -> None:
        db.session.execute(delete(post_tags).where(post_tags.c.post_id == self.id))


# Which posts carry which hashtag (lower-cased), for the hashtag pages: written with
# the post, rewritten by an edit, removed by the deletion. The post's time is kept
# here too, so that a tag's page reads its posts newest first from one index.
post_tags = Table(
    "post_tag",
    db.metadata,
    Column("post_id", ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Column("timestamp", UTCDateTime, nullable=False),
    Index("ix_post_tag_tag_timestamp_post_id", "tag", "timestamp", "post_id"),
)
