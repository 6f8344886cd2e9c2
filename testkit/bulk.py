"""Rows added straight to the database, many at once: the data of the tests that need a
lot of it (how many statements a page costs with a thousand rows behind it)."""

from sqlalchemy import func, insert, select

from app.database import utcnow
from app.extensions import db
from app.models import Conversation, ConversationMember, Message, Post, User, followers


def keep_ids_counting(*models: type[db.Model]) -> None:
    """Move PostgreSQL's id sequences past the ids given here, which they never saw: rows
    the app adds later get ids of their own, not the first free number's clash."""
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite gives the largest id plus one
    for model in models:
        sequence = func.pg_get_serial_sequence(f'"{model.__tablename__}"', "id")
        db.session.execute(
            select(func.setval(sequence, select(func.max(model.id)).scalar_subquery()))
        )


def add_authors_with_posts(authors: int, posts_each: int) -> list[int]:
    """Bulk-add users, each with posts; return their ids."""
    first = db.session.query(db.func.coalesce(db.func.max(User.id), 0)).scalar() + 1
    users = [
        {"id": first + n, "username": f"author{first + n}", "email": f"a{first + n}@example.com"}
        for n in range(authors)
    ]
    db.session.execute(insert(User), users)
    keep_ids_counting(User)
    now = utcnow()
    posts = [
        {"body": f"post {k} by {user['id']}", "user_id": user["id"], "timestamp": now}
        for user in users
        for k in range(posts_each)
    ]
    if posts:
        db.session.execute(insert(Post), posts)
    db.session.commit()
    return [user["id"] for user in users]


def add_follows(follower_ids: list[int], followed_ids: list[int]) -> None:
    """Bulk-add every follower -> followed pair."""
    pairs = [
        {"follower_id": follower, "followed_id": followed}
        for follower in follower_ids
        for followed in followed_ids
        if follower != followed
    ]
    if pairs:
        db.session.execute(insert(followers), pairs)
    db.session.commit()


def add_conversations(user_id: int, others: list[int], messages_each: int) -> None:
    """Bulk-add a conversation of ``messages_each`` messages between the user and each of
    ``others``, the others writing first and last (so that each is unread for the user)."""

    def next_id(model) -> int:
        return (db.session.scalar(db.select(db.func.max(model.id))) or 0) + 1

    first_conversation, first_message = next_id(Conversation), next_id(Message)
    conversations, messages, members = [], [], []
    now = utcnow()
    for number, other in enumerate(others):
        conversation_id = first_conversation + number
        low, high = sorted((user_id, other))
        conversations.append({"id": conversation_id, "user_low_id": low, "user_high_id": high})
        ids = range(first_message, first_message + messages_each)
        first_message += messages_each
        for position, message_id in enumerate(ids):
            sender = user_id if position % 2 else other
            messages.append(
                {
                    "id": message_id,
                    "conversation_id": conversation_id,
                    "sender_id": sender,
                    "body": f"message {message_id}",
                    "timestamp": now,
                    "submission": f"{message_id:022d}",
                }
            )
        last = ids[-1]
        members += [
            {"user_id": user_id, "other_id": other, "conversation_id": conversation_id,
             "last_message_id": last, "last_received_id": last},
            {"user_id": other, "other_id": user_id, "conversation_id": conversation_id,
             "last_message_id": last, "last_received_id": ids[-2] if len(ids) > 1 else 0},
        ]  # fmt: skip
    db.session.execute(insert(Conversation), conversations)
    db.session.execute(insert(Message), messages)
    db.session.execute(insert(ConversationMember), members)
    keep_ids_counting(Conversation, Message)
    db.session.commit()
