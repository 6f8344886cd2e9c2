"""The data: users, who follows and who blocks whom, their posts, their private messages
and their notifications."""

import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from hashlib import md5
from typing import Any, NamedTuple

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    ScalarSelect,
    Select,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
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


# Who blocks whom: one row per pair, so the primary key itself refuses a second block,
# however many clicks race; it also answers every "does X block Y". A block ends the
# follows between the two, both ways, and no new one can be made (``User.follow``).
blocks = Table(
    "block",
    db.metadata,
    Column("blocker_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("blocked_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


def blocks_of(
    blocker_id: ColumnElement[int] | int, blocked_id: ColumnElement[int] | int
) -> ColumnElement[bool]:
    """Whether ``blocker_id`` blocks ``blocked_id``, as an EXISTS (columns make it correlated)."""
    return exists().where(blocks.c.blocker_id == blocker_id, blocks.c.blocked_id == blocked_id)


def blocked_between(first_id: int, second_id: int) -> ColumnElement[bool]:
    """Whether either of two people blocks the other, as an EXISTS."""
    return or_(blocks_of(first_id, second_id), blocks_of(second_id, first_id))


# ON CONFLICT DO NOTHING is spelled the same way by both backends, but each
# dialect builds its own statement.
_INSERT_BY_DIALECT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def dialect_insert(table: Any) -> Any:
    """An INSERT of the session's backend, which knows its ON CONFLICT clauses."""
    return _INSERT_BY_DIALECT[db.session.get_bind().dialect.name](table)


def lock_pair(first_id: int, second_id: int) -> None:
    """Make the follows and blocks between two people wait for each other (PostgreSQL).

    A follow checks that neither blocks the other, and a block ends their follows;
    run side by side under READ COMMITTED, each could miss the other's uncommitted
    row and leave a follow beside a block. Locking both users' rows in one order
    puts one after the other; FOR NO KEY UPDATE, because the foreign key checks of
    everyone's writes (a post, a follow) take KEY SHARE locks, which it lets through.
    SQLite runs one writer at a time, and there a follow is a single statement
    that reads the blocks once it writes: nothing to lock.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    user = User.__table__
    db.session.execute(
        select(user.c.id)
        .where(user.c.id.in_((first_id, second_id)))
        .order_by(user.c.id)
        .with_for_update(key_share=True)
    )


# --- What the navigation bar counts ----------------------------------------------------------

# The navigation bar counts up to this many unread conversations and notifications,
# and shows "99+" from there: a flood of them costs a page no more than this.
UNREAD_COUNTED = 100


class UnreadCounts(NamedTuple):
    """What the navigation bar shows: conversations with unread messages, unread
    notifications (each counted up to UNREAD_COUNTED)."""

    messages: int
    notifications: int

    @property
    def state(self) -> str:
        """The two counts as one value: what the poll names (app.notifications.poll)."""
        return f"{self.messages}.{self.notifications}"


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
    # The language the user chose for the site (app.languages); None until they choose,
    # and the browser's Accept-Language decides. Deferred: the signed-in user's comes
    # with the login (chosen_language, below), and other reads of a user never name
    # the column. NULL is the database's default, so an INSERT that
    # does not set it leaves the column out too: code and queries that do not use it
    # work the same on a database migration 0013 has not reached yet (a deploy's code
    # running before its migration).
    language: Mapped[str | None] = mapped_column(
        String(8), server_default=text("NULL"), deferred=True
    )

    # How many people the user follows: it decides how their feed is read
    # (app.main.queries.feed_for). Deferred: only the signed-in user's is loaded
    # (with the login, app.auth.sessions), other users' only when asked for.
    following_count: Mapped[int] = column_property(following_count_of(id), deferred=True)

    # An INSERT asks nothing back for the language's server default (no RETURNING of
    # it): NULL is known, and the commit expires the new row's attributes anyway.
    __mapper_args__ = {"eager_defaults": False}

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

    # What the navigation bar counts as unread, loaded with the login (app.auth.sessions);
    # nothing for a user signed in by this very request, whose answer is a redirect.
    unread_counts = UnreadCounts(0, 0)

    # The stored language as loaded with the login (app.auth.sessions), for the locale
    # selector: a plain attribute, which a commit in the view does not expire (reading
    # the deferred column again would cost the page a statement).
    chosen_language = None

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
        """Follow ``user``; False when already following (a racing request included) or
        when either of the two blocks the other.

        The database settles races: the insert does nothing when the pair exists,
        so a double click or two browsers at once never make a second row or an
        error; it reads the blocks in the same statement, after ``lock_pair``. The
        caller commits.
        """
        if user.id == self.id:
            raise ValueError("a user cannot follow themselves")
        lock_pair(self.id, user.id)
        unblocked = select(literal(self.id), literal(user.id)).where(
            ~blocked_between(self.id, user.id)
        )
        statement = dialect_insert(followers).from_select(
            [followers.c.follower_id, followers.c.followed_id], unblocked
        )
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

    def block(self, user: "User") -> bool:
        """Block ``user``; False when already blocked (a racing request included).

        Their follows end, both ways, and the notifications they gave this user go.
        The caller commits.
        """
        if user.id == self.id:
            raise ValueError("a user cannot block themselves")
        lock_pair(self.id, user.id)
        statement = dialect_insert(blocks).values(blocker_id=self.id, blocked_id=user.id)
        inserted = statement.on_conflict_do_nothing().returning(blocks.c.blocker_id)
        blocked = db.session.execute(inserted).first() is not None
        db.session.execute(
            delete(followers).where(
                or_(
                    and_(followers.c.follower_id == self.id, followers.c.followed_id == user.id),
                    and_(followers.c.follower_id == user.id, followers.c.followed_id == self.id),
                )
            )
        )
        db.session.execute(
            delete(Notification).where(
                Notification.user_id == self.id, Notification.actor_id == user.id
            )
        )
        return blocked

    def unblock(self, user: "User") -> bool:
        """Stop blocking ``user``; False when not blocking. The caller commits.

        Follows that the block ended stay ended.
        """
        result = db.session.execute(
            delete(blocks).where(blocks.c.blocker_id == self.id, blocks.c.blocked_id == user.id)
        )
        return result.rowcount == 1

    def is_blocking(self, user: "User") -> bool:
        return bool(db.session.scalar(select(blocks_of(self.id, user.id))))

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

        The row stays, without its text, for its replies to answer; the notifications
        of its mentions (or of it as a reply) go. The caller commits.
        """
        changed = self._change_version(opened_version, {"body": "", "deleted_at": utcnow()})
        if changed:
            self._untag()
            # Nobody is told of a post that is gone (the reply or mention it made).
            db.session.execute(delete(Notification).where(Notification.post_id == self.id))
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


# --- Private messages ------------------------------------------------------------------------

MAX_MESSAGE_LENGTH = 1000


class Conversation(db.Model):
    """Two people's private messages: one row per pair, the lower user id first.

    The unique pair settles the race of two first messages (two tabs, or both
    people at once): one row is made, and both find it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_low_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))
    user_high_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))

    __table_args__ = (
        UniqueConstraint("user_low_id", "user_high_id", name="uq_conversation_pair"),
        CheckConstraint("user_low_id < user_high_id", name="ordered_pair"),
    )


class Message(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey(Conversation.id, ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(String(MAX_MESSAGE_LENGTH))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The random key of the form it was written in (app.messages.forms): a form sent
    # twice (a double click, a resent page) is one message, by the unique index.
    submission: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        # A conversation's page, newest first, read from the index alone: ids only
        # grow, so they are the messages' order (and no two share one).
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
        Index("uq_message_sender_id_submission", "sender_id", "submission", unique=True),
    )


# A conversation with a message its member has not read yet: the ids of the newest
# message received and of the newest one seen (0 for none) tell, and are only ever
# raised, so that a read mark and a new message racing leave the right answer.
UNREAD = text("last_received_id > last_read_id")


class ConversationMember(db.Model):
    """One person's side of a conversation: what their Messages page lists, newest first.

    Each side keeps the conversation's last message, so the Messages page reads one
    index range for a page of conversations, never the messages themselves.
    """

    user_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"), primary_key=True)
    other_id: Mapped[int] = mapped_column(
        ForeignKey(User.id, ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(ForeignKey(Conversation.id, ondelete="CASCADE"))
    last_message_id: Mapped[int] = mapped_column(ForeignKey(Message.id))
    last_received_id: Mapped[int] = mapped_column(default=0, server_default="0")
    last_read_id: Mapped[int] = mapped_column(default=0, server_default="0")

    __table_args__ = (
        Index("ix_conversation_member_user_id_last_message_id", "user_id", "last_message_id"),
        # The navigation bar's count reads the unread conversations' entries only.
        Index(
            "ix_conversation_member_unread",
            "user_id",
            sqlite_where=UNREAD,
            postgresql_where=UNREAD,
        ),
    )


# --- Notifications -----------------------------------------------------------------------

FOLLOWED, REPLIED, MENTIONED, MESSAGED = "follow", "reply", "mention", "message"
# Follows and messages are told once while unread: following three times, or ten
# messages in a row, are one notification, by a unique index over the unread ones.
NOT_READ_WITHOUT_POST = text("read_at IS NULL AND post_id IS NULL")


class Notification(db.Model):
    """Something someone did that concerns a user: followed them, answered or named them
    in a post, sent them a message."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who is told, and who did it.
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # The reply, or the post that names the user.
    post_id: Mapped[int | None] = mapped_column(ForeignKey(Post.id, ondelete="CASCADE"))
    # The newest message told of: reading the conversation up to it reads this too.
    message_id: Mapped[int | None] = mapped_column(ForeignKey(Message.id, ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('follow', 'reply', 'mention', 'message')", name="kind"),
        # The Notifications page, newest first.
        Index("ix_notification_user_id_id", "user_id", "id"),
        # The navigation bar's count reads the unread ones' entries only: read_at IS NULL
        # is a range of this index. (Not a partial index: SQLite's planner, without
        # statistics, ties it with the one above and picks by creation order.)
        Index("ix_notification_user_id_read_at_id", "user_id", "read_at", "id"),
        Index(
            "uq_notification_unread_by_actor",
            "user_id",
            "actor_id",
            "kind",
            unique=True,
            sqlite_where=NOT_READ_WITHOUT_POST,
            postgresql_where=NOT_READ_WITHOUT_POST,
        ),
    )


def _counted(rows: Select[Any]) -> ScalarSelect[int]:
    """How many rows ``rows`` selects, counting no further than UNREAD_COUNTED."""
    counted = rows.limit(UNREAD_COUNTED).subquery()
    return select(func.count()).select_from(counted).scalar_subquery()


def unread_conversations_of(user_id: ColumnElement[int]) -> ScalarSelect[int]:
    """How many of ``user_id``'s conversations are unread, as a correlated subquery."""
    member = ConversationMember
    unread = select(member.user_id).where(
        member.user_id == user_id, member.last_received_id > member.last_read_id
    )
    return _counted(unread.correlate_except(member))


def unread_notifications_of(user_id: ColumnElement[int]) -> ScalarSelect[int]:
    """How many of ``user_id``'s notifications are unread, as a correlated subquery."""
    unread = select(Notification.user_id).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return _counted(unread.correlate_except(Notification))


_UNREAD_COUNTS = select(
    unread_conversations_of(bindparam("user_id")), unread_notifications_of(bindparam("user_id"))
)


def unread_counts_of(user_id: int) -> UnreadCounts:
    """The user's unread counts, read again: after a page has marked something read."""
    return UnreadCounts(*db.session.execute(_UNREAD_COUNTS, {"user_id": user_id}).one())
