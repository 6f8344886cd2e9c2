"""What sending a message and reading a conversation write.

A message is one row; each person's side of the conversation (ConversationMember)
keeps the ids of its last message, of the last one received and of the last one
read, so that the Messages page and the unread counts never read the messages
themselves. Those ids are only ever raised, by the statements that set them, so
that messages sent at the same moment and read marks racing with new messages
(two tabs, two people) leave them right in any order.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, case, select

from app.database import utcnow
from app.extensions import db
from app.languages import N_
from app.models import Conversation, ConversationMember, Message, dialect_insert
from app.notifications.events import mark_messages_read, notify_of_message

conversation = Conversation.__table__
member = ConversationMember.__table__
message = Message.__table__

# What a refused message is told, on the site and through the API (app.api.messages).
NOBODY = N_("There is nobody with that name here.")
NOT_TO_YOURSELF = N_("You cannot send messages to yourself.")
# To the person blocked: nothing more than this (they are not told of the block).
CANNOT_MESSAGE = N_("You cannot message this user.")


def conversation_between(first_id: int, second_id: int) -> int:
    """The id of the two people's conversation, made by the first message between them."""
    low, high = sorted((first_id, second_id))
    pair = select(conversation.c.id).where(
        conversation.c.user_low_id == low, conversation.c.user_high_id == high
    )
    found = db.session.scalar(pair)
    if found is not None:
        return found
    made = (
        dialect_insert(conversation)
        .values(user_low_id=low, user_high_id=high)
        .on_conflict_do_nothing()
        .returning(conversation.c.id)
    )
    # Nothing made: a racing first message made it since; it is committed by now (the
    # insert waited for it), so it is found.
    return db.session.scalar(made) or db.session.scalar(pair)


def send_message(
    sender_id: int,
    recipient_id: int,
    conversation_id: int | None,
    body: str,
    submission: str,
) -> bool:
    """Store the message (in ``conversation_id``, or in a new conversation when None)
    and tell the recipient; False when this form's message is stored already.

    The caller commits.
    """
    if conversation_id is None:
        conversation_id = conversation_between(sender_id, recipient_id)
    stored = (
        dialect_insert(message)
        .values(
            conversation_id=conversation_id,
            sender_id=sender_id,
            body=body,
            submission=submission,
            timestamp=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(message.c.id)
    )
    message_id = db.session.scalar(stored)
    if message_id is None:
        return False
    record_on_both_sides(conversation_id, sender_id, recipient_id, message_id)
    notify_of_message(sender_id, recipient_id, message_id)
    return True


def record_on_both_sides(
    conversation_id: int, sender_id: int, recipient_id: int, message_id: int
) -> None:
    """Each side's last message is this one; the recipient's last received one too.

    One statement for both sides, which makes them at the first message. Its rows go
    in the order of their user ids, whoever writes: two people writing to each
    other at once lock the two rows in the same order, never each waiting for the
    other (a deadlock, on PostgreSQL).
    """
    rows = [
        {
            "user_id": user_id,
            "other_id": other_id,
            "conversation_id": conversation_id,
            "last_message_id": message_id,
            "last_received_id": message_id if user_id == recipient_id else 0,
        }
        for user_id, other_id in sorted([(sender_id, recipient_id), (recipient_id, sender_id)])
    ]
    sides = dialect_insert(member).values(rows)
    db.session.execute(
        sides.on_conflict_do_update(
            index_elements=[member.c.user_id, member.c.other_id],
            set_={
                "last_message_id": raised(
                    member.c.last_message_id, sides.excluded.last_message_id
                ),
                "last_received_id": raised(
                    member.c.last_received_id, sides.excluded.last_received_id
                ),
            },
        )
    )


def raised(column: ColumnElement[int], new: ColumnElement[int]) -> ColumnElement[int]:
    """The column's value, or the new one when it is higher."""
    return case((column < new, new), else_=column)


def mark_read(user_id: int, other_id: int, seen_message_id: int) -> None:
    """The user has read their conversation with ``other_id`` up to ``seen_message_id``
    (the newest of the other's messages the page showed); its notification too.

    Messages that came after that one stay unread. The caller commits.
    """
    db.session.execute(
        member.update()
        .where(
            member.c.user_id == user_id,
            member.c.other_id == other_id,
            member.c.last_read_id < seen_message_id,
        )
        .values(last_read_id=seen_message_id)
    )
    mark_messages_read(user_id, other_id, seen_message_id)


def mark_page_read(
    user_id: int, other_id: int, last_read_id: int, messages: Iterable[Any]
) -> bool:
    """A page of the conversation was read (rows of app.messages.queries.MESSAGES): it is
    read up to the newest of the other's messages on it; True when that marked anything.

    Anything that came after that message (while the page was read) stays unread, and
    a page of earlier messages marks nothing already read. The caller commits.
    """
    seen = next((row.id for row in messages if row.sender_id == other_id), 0)
    if seen <= last_read_id:
        return False
    mark_read(user_id, other_id, seen)
    return True
