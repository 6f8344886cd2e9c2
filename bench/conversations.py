"""The benchmark's private messages: rows of conversations, messages and each side, in bulk.

bench/seed.py gives each reader its conversations this way, bench/export_cost.py the
exported account its own. The rows are those the app's sending writes
(app.messages.conversations), with every message read: each side's last message,
last one received and last one read, so that no page measured marks anything read
and every poll finds nothing new.

The ids of the messages are given position by position across the conversations:
the first message of each, then the second of each, and so on. The readers'
conversations with ``penpal`` have as many messages each, so the n-th message of
any of them has an id next to the n-th of the others, and an "Earlier messages"
link of one reader's conversation (``?after=<id>``) reads the same page of every
reader's: the benchmark sends one path for all of them.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from app.models import Conversation, ConversationMember, Message

MESSAGE_TEXT = "Message number "  # in the body of every seeded message


@dataclass
class MessageRows:
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)


def message_rows(
    pairs: list[tuple[int, int, int]], now: datetime, first_conversation: int, first_message: int
) -> MessageRows:
    """Each (user, other, messages): their conversation of that many messages, the other
    writing the first, then each in turn; the ids numbered from the two given."""
    rows = MessageRows()
    senders: list[list[int]] = []  # each conversation's senders, oldest first
    message_ids: list[list[int]] = [[] for _ in pairs]
    for number, (user, other, count) in enumerate(pairs):
        low, high = sorted((user, other))
        rows.conversations.append(
            {"id": first_conversation + number, "user_low_id": low, "user_high_id": high}
        )
        senders.append([other if position % 2 == 0 else user for position in range(count)])
    next_id = first_message
    for position in range(max((count for _, _, count in pairs), default=0)):
        for number, (_, _, count) in enumerate(pairs):
            if position < count:
                message_ids[number].append(next_id)
                next_id += 1
    last_id = next_id - 1
    for number, (user, other, _) in enumerate(pairs):
        conversation_id = first_conversation + number
        ids = message_ids[number]
        for position, message_id in enumerate(ids):
            rows.messages.append(
                {
                    "id": message_id,
                    "conversation_id": conversation_id,
                    "sender_id": senders[number][position],
                    "body": f"{MESSAGE_TEXT}{message_id}, {position + 1} of {len(ids)}.",
                    # A second apart, in the order of the ids, the newest now.
                    "timestamp": now - timedelta(seconds=last_id - message_id),
                    "submission": f"seed{message_id:028d}",
                }
            )
        for side, far_side in ((user, other), (other, user)):
            received = [
                i for i, sender in zip(ids, senders[number], strict=True) if sender == far_side
            ]
            last_received = received[-1] if received else 0
            rows.members.append(
                {
                    "user_id": side,
                    "other_id": far_side,
                    "conversation_id": conversation_id,
                    "last_message_id": ids[-1],
                    "last_received_id": last_received,
                    "last_read_id": last_received,
                }
            )
    return rows


def insert_messages(
    connection: Connection, pairs: list[tuple[int, int, int]], now: datetime
) -> None:
    """Write the conversations of ``pairs`` (see message_rows) after any already there."""

    def next_id(model: Any) -> int:
        return (connection.scalar(select(func.max(model.id))) or 0) + 1

    rows = message_rows(pairs, now, next_id(Conversation), next_id(Message))
    connection.execute(insert(Conversation), rows.conversations)
    connection.execute(insert(Message), rows.messages)
    connection.execute(insert(ConversationMember), rows.members)
    if connection.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; the app's new rows must not collide.
        for table in ("conversation", "message"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
