"""What an account owns: the one list that the export writes and the deletion removes.

Each entry is one kind of thing: the export's file for it (``<name>.json``), the
sentence the deletion page shows, how many the account has, its rows for the
export in batches, and how the deletion removes it, inside the deletion's one
transaction. ``tables`` names the tables that hold it:
test_suites/features/test_account_data.py checks that every table with a foreign
key to ``user`` is named here, so a table added later cannot be forgotten by
either. Adding one is adding an entry to ``OWNED``.

The profile itself (``profile.json``, the ``user`` row) is not an entry: the
export writes it first, the deletion removes it last (app.account_data.export,
app.account_data.deletion).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)

from app.api.tokens import ApiToken
from app.auth.sessions import LoginSession
from app.extensions import db
from app.jobs.models import Job
from app.languages import N_
from app.models import (
    Conversation,
    ConversationMember,
    Message,
    Notification,
    Post,
    User,
    blocks,
    followers,
)
from app.post_text import hashtags_in

Row = dict[str, Any]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


@dataclass(frozen=True)
class Owned:
    name: str
    # What the deletion page says will be removed: its label (with the count beside
    # it) and a sentence on what follows.
    label: str
    detail: str
    tables: tuple[str, ...]
    count: Callable[[int], int]
    remove: Callable[[int], None]
    # None: not exported (what is only the site's machinery).
    batches: Callable[[int, int], Iterator[list[Row]]] | None = None


def keyset_batches(
    statement: Select[Any],
    keys: tuple[ColumnElement[Any], ...],
    to_row: Callable[[Any], Row],
    size: int,
) -> Iterator[list[Row]]:
    """``statement``'s rows, ``size`` at a time, in the order of ``keys``, each batch read
    after the last key of the one before (no OFFSET, no transaction held between them)."""
    ordered = statement.order_by(*keys).limit(size)
    last: tuple[Any, ...] | None = None
    while True:
        if last is None:
            page = ordered
        else:
            # Bound with the columns' own types (aware UTC times are stored as such).
            bound = [literal(value, key.type) for key, value in zip(keys, last, strict=True)]
            after = tuple_(*bound)
            page = ordered.where(tuple_(*keys) > after)
        rows = db.session.execute(page).all()
        if not rows:
            return
        yield [to_row(row) for row in rows]
        last = tuple(getattr(rows[-1], key.key) for key in keys)


def count_of(statement: Select[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0


# --- Posts and replies ---------------------------------------------------------------------

answered = Post.__table__.alias("answered")
answered_author = User.__table__.alias("answered_author")
OWN_POSTS = (
    select(
        Post.id,
        Post.body,
        Post.timestamp,
        Post.edited_at,
        Post.reply_to_id,
        answered_author.c.username.label("reply_to_author"),
    )
    .outerjoin(answered, (answered.c.id == Post.reply_to_id) & answered.c.deleted_at.is_(None))
    .outerjoin(answered_author, answered_author.c.id == answered.c.user_id)
    .where(Post.deleted_at.is_(None))
)


def post_row(row: Any) -> Row:
    reply_to = None
    if row.reply_to_id is not None:
        reply_to = {"post_id": row.reply_to_id, "author": row.reply_to_author}
    return {
        "id": row.id,
        "body": row.body,
        "timestamp": iso(row.timestamp),
        "edited_at": iso(row.edited_at),
        "reply_to": reply_to,
        "tags": sorted(hashtags_in(row.body)),
    }


def post_batches(user_id: int, size: int) -> Iterator[list[Row]]:
    # Oldest first, along the profile's index (user_id, timestamp, id).
    statement = OWN_POSTS.where(Post.user_id == user_id)
    return keyset_batches(statement, (Post.timestamp, Post.id), post_row, size)


def count_posts(user_id: int) -> int:
    return count_of(select(Post.id).where(Post.user_id == user_id, Post.deleted_at.is_(None)))


def remove_posts(user_id: int) -> None:
    own = select(Post.id).where(Post.user_id == user_id).scalar_subquery()
    # Others' replies to these posts stay, as posts of their own (the deletion page
    # says so): nothing of the account is left for them to answer.
    db.session.execute(
        update(Post)
        .where(Post.reply_to_id.in_(own), Post.user_id != user_id)
        .values(reply_to_id=None)
        .execution_options(synchronize_session=False)
    )
    # Their hashtags go with them (post_tag's rows cascade).
    db.session.execute(
        delete(Post).where(Post.user_id == user_id).execution_options(synchronize_session=False)
    )


# --- Follows ---------------------------------------------------------------------------------


def people_batches(on: ColumnElement[bool], size: int) -> Iterator[list[Row]]:
    statement = select(User.id, User.username).join(followers, on)
    return keyset_batches(statement, (User.id,), lambda row: {"username": row.username}, size)


def following_batches(user_id: int, size: int) -> Iterator[list[Row]]:
    on = (followers.c.followed_id == User.id) & (followers.c.follower_id == user_id)
    return people_batches(on, size)


def follower_batches(user_id: int, size: int) -> Iterator[list[Row]]:
    on = (followers.c.follower_id == User.id) & (followers.c.followed_id == user_id)
    return people_batches(on, size)


def count_rows(*where: ColumnElement[bool]) -> int:
    return db.session.scalar(select(func.count()).select_from(followers).where(*where)) or 0


def remove_follows(column: ColumnElement[int]) -> Callable[[int], None]:
    def remove(user_id: int) -> None:
        db.session.execute(delete(followers).where(column == user_id))

    return remove


# --- Messages, notifications, blocks -----------------------------------------------------------

other_person = User.__table__.alias("other_person")


def message_batches(user_id: int, size: int) -> Iterator[list[Row]]:
    """Both sides of each of the person's conversations, a conversation after the other,
    oldest message first, along the index (conversation_id, id)."""
    statement = (
        select(
            Message.conversation_id,
            Message.id,
            Message.sender_id,
            Message.body,
            Message.timestamp,
            other_person.c.username,
        )
        .join(
            ConversationMember,
            (ConversationMember.conversation_id == Message.conversation_id)
            & (ConversationMember.user_id == user_id),
        )
        .join(other_person, other_person.c.id == ConversationMember.other_id)
    )

    def message_row(row: Any) -> Row:
        return {
            "with": row.username,
            "sent": row.sender_id == user_id,
            "body": row.body,
            "timestamp": iso(row.timestamp),
        }

    return keyset_batches(statement, (Message.conversation_id, Message.id), message_row, size)


def count_messages(user_id: int) -> int:
    return count_of(
        select(Message.id).join(
            ConversationMember,
            (ConversationMember.conversation_id == Message.conversation_id)
            & (ConversationMember.user_id == user_id),
        )
    )


def remove_conversations(user_id: int) -> None:
    # Their messages and both people's sides go with them (the foreign keys cascade).
    db.session.execute(
        delete(Conversation).where(
            or_(Conversation.user_low_id == user_id, Conversation.user_high_id == user_id)
        )
    )


def count_notifications(user_id: int) -> int:
    return count_of(select(Notification.id).where(Notification.user_id == user_id))


def remove_notifications(user_id: int) -> None:
    db.session.execute(
        delete(Notification).where(
            or_(Notification.user_id == user_id, Notification.actor_id == user_id)
        )
    )


def blocked_batches(user_id: int, size: int) -> Iterator[list[Row]]:
    on = (blocks.c.blocked_id == User.id) & (blocks.c.blocker_id == user_id)
    statement = select(User.id, User.username).join(blocks, on)
    return keyset_batches(statement, (User.id,), lambda row: {"username": row.username}, size)


def count_blocked(user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(blocks).where(blocks.c.blocker_id == user_id)
        )
        or 0
    )


def remove_blocks(user_id: int) -> None:
    # Others' blocks of this account end too; the page never counts or names them
    # (a block is invisible to the one blocked).
    db.session.execute(
        delete(blocks).where(or_(blocks.c.blocker_id == user_id, blocks.c.blocked_id == user_id))
    )


# --- Sign-ins ----------------------------------------------------------------------------------


def login_row(row: Any) -> Row:
    return {
        "signed_in_at": iso(row.created_at),
        "ends_at": iso(row.expires_at),
        "remembered": row.remembered,
        "browser": row.user_agent,
        "address": row.address,
    }


def login_batches(user_id: int, size: int) -> Iterator[list[Row]]:
    statement = select(
        LoginSession.id,
        LoginSession.created_at,
        LoginSession.expires_at,
        LoginSession.remembered,
        LoginSession.user_agent,
        LoginSession.address,
    ).where(LoginSession.user_id == user_id)
    return keyset_batches(statement, (LoginSession.id,), login_row, size)


def count_logins(user_id: int) -> int:
    return count_of(select(LoginSession.id).where(LoginSession.user_id == user_id))


def remove_logins(user_id: int) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


# --- Jobs and their files ---------------------------------------------------------------------


def export_files(user_id: int) -> list[Path]:
    """The account's export files on disk (the deletion removes them once committed)."""
    folder = Path(current_app.config["EXPORT_DIR"])
    names = db.session.scalars(
        select(Job.file_name).where(Job.user_id == user_id, Job.file_name.is_not(None))
    )
    return [folder / name for name in names]


def count_exports(user_id: int) -> int:
    return len(export_files(user_id))


def remove_jobs(user_id: int) -> None:
    # The deletion's own job goes too: the account's absence is its completion.
    db.session.execute(delete(Job).where(Job.user_id == user_id))


def count_tokens(user_id: int) -> int:
    return count_of(select(ApiToken.id).where(ApiToken.user_id == user_id))


def remove_tokens(user_id: int) -> None:
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


OWNED = [
    Owned(
        "posts",
        N_("Your posts and replies"),
        N_("Replies others wrote to them stay, as posts of their own."),
        ("post",),
        count_posts,
        remove_posts,
        post_batches,
    ),
    Owned(
        "following",
        N_("The people you follow"),
        N_("Your follows end; they are not told."),
        ("followers",),
        lambda user_id: count_rows(followers.c.follower_id == user_id),
        remove_follows(followers.c.follower_id),
        following_batches,
    ),
    Owned(
        "followers",
        N_("Your followers"),
        N_("They stop following you."),
        ("followers",),
        lambda user_id: count_rows(followers.c.followed_id == user_id),
        remove_follows(followers.c.followed_id),
        follower_batches,
    ),
    Owned(
        "messages",
        N_("Your private messages"),
        N_("Each of your conversations goes whole, the other person's messages in it too."),
        ("conversation", "conversation_member", "message"),
        count_messages,
        remove_conversations,
        message_batches,
    ),
    Owned(
        "notifications",
        N_("Your notifications"),
        N_("Those you were sent, and those your follows, replies and messages sent others."),
        ("notification",),
        count_notifications,
        remove_notifications,
    ),
    Owned(
        "blocked",
        N_("The people you blocked"),
        N_("Your blocks end."),
        ("block",),
        count_blocked,
        remove_blocks,
        blocked_batches,
    ),
    Owned(
        "sign_ins",
        N_("The browsers signed in to your account"),
        N_("You are signed out on every one of them at once, this one included."),
        ("login_session",),
        count_logins,
        remove_logins,
        login_batches,
    ),
    Owned(
        "api_tokens",
        N_("Your API tokens"),
        N_("Scripts and apps that use them are refused from then on."),
        ("api_token",),
        count_tokens,
        remove_tokens,
    ),
    Owned(
        "exports",
        N_("Your data exports"),
        N_("Their files, and the record of your requests to export or delete."),
        ("job",),
        count_exports,
        remove_jobs,
    ),
]
