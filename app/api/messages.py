"""Private messages: your conversations, a conversation's messages, sending one.

The statements and writes are the site's own (app.messages.queries,
app.messages.conversations), and so are the rules and their wording: nobody writes
to themselves, nor between two people one of whom blocks the other (the person
blocked is told only that they cannot message this user). Reading a page of a
conversation reads it up to the newest of the other's messages on it, as the
site's page does. Sending counts against the token's calls and against the
messaging allowance of the site's form (``limit_api_messaging``).

A message sent again with its ``idempotency_key`` (a retry after an answer that
was lost) is stored once: the key is kept where the site's form keeps the key of
its own copy (Message.submission, unique per sender), and the answer is the
message first stored, 200 instead of 201; the key sent with another message (another
text, another person) is a 409. Without a key every call is a new message.
"""

from typing import Any, NoReturn

from flask_babel import gettext as _
from sqlalchemy import Row

from app.api.authentication import api_user, token_required
from app.api.lists import next_arguments, read_page
from app.api.message_schemas import (
    ConversationPageSchema,
    MessagePageSchema,
    MessageSchema,
    NewMessageSchema,
)
from app.api.problems import abort_with_problem
from app.api.representations import (
    conversations_json,
    message_json,
    messages_json,
    page_json,
)
from app.api.schemas import IN_QUERY, PageArgsSchema
from app.api.spec import PREFIX, resource_blueprint
from app.extensions import db
from app.languages import N_
from app.messages import queries
from app.messages.conversations import (
    CANNOT_MESSAGE,
    NOBODY,
    NOT_TO_YOURSELF,
    mark_page_read,
    send_message,
)
from app.messages.forms import new_submission
from app.security.rate_limits import limit_api_calls, limit_api_messaging

bp = resource_blueprint("api_messages", f"{PREFIX}/messages", "Private messages")

NO_CONVERSATION = N_("You have no conversation with this user yet: a message starts it.")
# The site's conversation page says the same to the one who blocks.
YOU_BLOCK = N_("You have blocked %(name)s: you cannot message each other.")
KEY_REUSED = N_("This key was sent with another message: a key is one message's only.")


def correspondent(username: str) -> Row[Any]:
    """The person named, with the caller's side of their conversation and the blocks."""
    caller = api_user()
    found = db.session.execute(
        queries.CORRESPONDENT, {"user_id": caller.id, "username": username.lower()}
    ).first()
    if found is None:
        abort_with_problem(404, NOBODY)
    if found.id == caller.id:
        abort_with_problem(403, NOT_TO_YOURSELF)
    return found


@bp.route("", methods=["GET"])
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, ConversationPageSchema)
def conversations(arguments: dict[str, Any]) -> Any:
    """Your conversations, the one with the newest message first, the unread ones marked."""
    caller = api_user()
    page = read_page(queries.CONVERSATIONS, arguments, user_id=caller.id)
    items = conversations_json(page.items, caller.id, caller.username)
    return page_json(page, items, **next_arguments(page, arguments, key="last_message_id"))


@bp.route("/<username>", methods=["GET"])
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, MessagePageSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def conversation(arguments: dict[str, Any], username: str) -> Any:
    """Your conversation with a user, newest first.

    Reading a page reads the conversation up to the newest of their messages on it,
    as the site's page does: a message that came since stays unread.
    """
    caller = api_user()
    other = correspondent(username)
    if other.conversation_id is None:
        abort_with_problem(404, NO_CONVERSATION)
    page = read_page(queries.MESSAGES, arguments, conversation_id=other.conversation_id)
    names = {caller.id: caller.username, other.id: other.username}
    listed = page_json(page, messages_json(page.items, names), **next_arguments(page, arguments))
    if mark_page_read(caller.id, other.id, other.last_read_id, page.items):
        db.session.commit()
    return listed


def key_reused() -> NoReturn:
    # A conflict with what is stored, not a wrong field: the same request is valid with
    # a key not used yet.
    db.session.rollback()  # a conversation made for the message that was not stored
    abort_with_problem(409, KEY_REUSED)


@bp.route("/<username>", methods=["POST"])
@token_required
@limit_api_calls
@limit_api_messaging
@bp.arguments(NewMessageSchema)
@bp.response(201, MessageSchema)
@bp.alt_response(200, schema=MessageSchema, description="Sent before with this idempotency_key")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def send(new: dict[str, Any], username: str) -> Any:
    """Send a user a message (403 if you block them or they block you)."""
    caller = api_user()
    caller_id, caller_name = caller.id, caller.username
    other = correspondent(username)
    if other.blocking:
        abort_with_problem(403, _(YOU_BLOCK, name=other.username))
    if other.blocked:
        abort_with_problem(403, CANNOT_MESSAGE)
    key = new.get("idempotency_key") or new_submission()
    stored = send_message(caller_id, other.id, other.conversation_id, new["body"], key)
    sent = db.session.execute(
        queries.SENT_WITH_SUBMISSION, {"sender_id": caller_id, "submission": key}
    ).one()
    same_people = {sent.user_low_id, sent.user_high_id} == {caller_id, other.id}
    if not stored and not (same_people and sent.body == new["body"]):
        key_reused()
    db.session.commit()
    return message_json(sent.id, sent.body, caller_name, sent.timestamp), 201 if stored else 200
