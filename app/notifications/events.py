"""Telling people what others did: followed them, answered or named them, wrote to them.

Each notification is written by one INSERT in the transaction of what it tells of
(the caller commits both). Nobody hears from a person they block: the replies and
mentions of blocked people are left out by the INSERT itself, and blocked people
can neither follow nor write to the one who blocks them (app.models.User.follow,
app.messages.routes). Follows and messages are told once while unread, by the
unique index ``uq_notification_unread_by_actor``: a second follow adds nothing, and
a second message points the unread notification at itself.
"""

from sqlalchemy import and_, case, func, literal, select

from app.database import utcnow
from app.extensions import db
from app.models import (
    FOLLOWED,
    MENTIONED,
    MESSAGED,
    NOT_READ_WITHOUT_POST,
    REPLIED,
    Notification,
    Post,
    User,
    blocks_of,
    dialect_insert,
)
from app.post_text import names_in

notification = Notification.__table__
user = User.__table__
TOLD = [
    notification.c.user_id,
    notification.c.actor_id,
    notification.c.kind,
    notification.c.post_id,
    notification.c.created_at,
]


def notify_followed(follower: User, followed: User) -> None:
    """``followed`` is told that ``follower`` follows them (once while unread)."""
    told = dialect_insert(notification).values(
        user_id=followed.id, actor_id=follower.id, kind=FOLLOWED, created_at=utcnow()
    )
    db.session.execute(told.on_conflict_do_nothing())


def notify_of_post(post: Post, reply_to: Post | None) -> None:
    """The author of the post answered and the people the post names are told of it.

    Not its own author, and not anyone who blocks the author; someone both answered
    and named is told once, of the reply.
    """
    now = literal(utcnow(), notification.c.created_at.type)
    author, told_already = post.user_id, {post.user_id}
    if reply_to is not None and reply_to.user_id != author:
        answered = reply_to.user_id
        reply = select(
            literal(answered), literal(author), literal(REPLIED), literal(post.id), now
        ).where(~blocks_of(answered, author))
        db.session.execute(notification.insert().from_select(TOLD, reply))
        told_already.add(answered)
    names = names_in(post.body)
    if names:
        mention = (literal(author), literal(MENTIONED), literal(post.id), now)
        named = select(user.c.id, *mention).where(
            func.lower(user.c.username).in_(sorted(names)),
            user.c.id.not_in(sorted(told_already)),
            ~blocks_of(user.c.id, author),
        )
        db.session.execute(notification.insert().from_select(TOLD, named))


def notify_of_message(sender_id: int, recipient_id: int, message_id: int) -> None:
    """The recipient is told of the message: one unread notification per sender, which
    always names the newest of their messages (reading up to it reads it too)."""
    told = dialect_insert(notification).values(
        user_id=recipient_id,
        actor_id=sender_id,
        kind=MESSAGED,
        message_id=message_id,
        created_at=utcnow(),
    )
    # Raised, never lowered: two messages sent at once may commit in either order.
    newest = case(
        (notification.c.message_id < told.excluded.message_id, told.excluded.message_id),
        else_=notification.c.message_id,
    )
    db.session.execute(
        told.on_conflict_do_update(
            index_elements=[notification.c.user_id, notification.c.actor_id, notification.c.kind],
            index_where=NOT_READ_WITHOUT_POST,
            set_={"message_id": newest},
        )
    )


def mark_read(user_id: int, notification_ids: list[int]) -> None:
    """The user has seen these notifications. The caller commits."""
    db.session.execute(
        notification.update()
        .where(
            notification.c.user_id == user_id,
            notification.c.id.in_(notification_ids),
            notification.c.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )


def mark_read_up_to(user_id: int, newest_id: int) -> None:
    """The user has seen their notifications up to ``newest_id`` (what a client was shown
    last): newer ones, told meanwhile, stay unread. The caller commits."""
    db.session.execute(
        notification.update()
        .where(
            notification.c.user_id == user_id,
            notification.c.read_at.is_(None),
            notification.c.id <= newest_id,
        )
        .values(read_at=utcnow())
    )


def mark_messages_read(user_id: int, sender_id: int, seen_message_id: int) -> None:
    """The user has read ``sender_id``'s messages up to ``seen_message_id``: the unread
    notification of them is read too, unless it already names a newer message."""
    db.session.execute(
        notification.update()
        .where(
            and_(
                notification.c.user_id == user_id,
                notification.c.actor_id == sender_id,
                notification.c.kind == MESSAGED,
                notification.c.read_at.is_(None),
                notification.c.message_id <= seen_message_id,
            )
        )
        .values(read_at=utcnow())
    )
