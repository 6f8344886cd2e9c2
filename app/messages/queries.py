"""The statements of the message pages, built once at import and run with bound parameters
(as app.main.queries' are; see app.pagination.PageQuery for the pages of a list)."""

from sqlalchemy import and_, bindparam, func, select

from app.models import Conversation, ConversationMember, Message, User, blocks_of
from app.pagination import PageQuery

conversation = Conversation.__table__
member = ConversationMember.__table__
message = Message.__table__
user = User.__table__

USER_ID = bindparam("user_id")
CONVERSATION_ID = bindparam("conversation_id")
AFTER = bindparam("after")

# The Messages page: the user's conversations, the one with the newest message first,
# read from the index on (user_id, last_message_id) whatever their number; each with
# the other person and the last message (its text, time and whether it was theirs).
CONVERSATIONS = PageQuery.of(
    select(member.c.last_message_id)
    .where(member.c.user_id == USER_ID)
    .order_by(member.c.last_message_id.desc()),
    # app.messages.routes reads these columns by name.
    select(
        member.c.last_message_id,
        (member.c.last_received_id > member.c.last_read_id).label("unread"),
        user.c.username,
        user.c.email,
        message.c.sender_id,
        message.c.body,
        message.c.timestamp,
    )
    .join_from(member, user, user.c.id == member.c.other_id)
    .join(message, message.c.id == member.c.last_message_id)
    # Both sides of a conversation have the same last message: this user's side only.
    .where(member.c.user_id == USER_ID)
    .order_by(member.c.last_message_id.desc()),
    member.c.last_message_id < AFTER,
)

# The person a conversation page is with (named in its URL) and, when they have
# one, the viewer's side of their conversation; whether either blocks the other.
CORRESPONDENT = (
    select(
        user.c.id,
        user.c.username,
        user.c.email,
        member.c.conversation_id,
        member.c.last_read_id,
        blocks_of(USER_ID, user.c.id).label("blocking"),
        blocks_of(user.c.id, USER_ID).label("blocked"),
    )
    .select_from(
        user.outerjoin(member, and_(member.c.user_id == USER_ID, member.c.other_id == user.c.id))
    )
    .where(func.lower(user.c.username) == bindparam("username"))
)

# A conversation's messages, newest first (its page shows them the other way up),
# from the index on (conversation_id, id): the last of a thousand pages costs what the
# first does when read on from its "Earlier messages" link.
MESSAGES = PageQuery.of(
    select(message.c.id)
    .where(message.c.conversation_id == CONVERSATION_ID)
    .order_by(message.c.id.desc()),
    select(message.c.id, message.c.sender_id, message.c.body, message.c.timestamp).order_by(
        message.c.id.desc()
    ),
    message.c.id < AFTER,
)

# The message a sender stored with a submission key (unique per sender), with the two
# people of its conversation: what a request sent again finds (app.api.messages).
SENT_WITH_SUBMISSION = (
    select(
        message.c.id,
        message.c.sender_id,
        message.c.body,
        message.c.timestamp,
        conversation.c.user_low_id,
        conversation.c.user_high_id,
    )
    .join_from(message, conversation, conversation.c.id == message.c.conversation_id)
    .where(
        message.c.sender_id == bindparam("sender_id"),
        message.c.submission == bindparam("submission"),
    )
)
