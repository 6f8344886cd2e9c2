"""The bodies of the API's private messages, notifications and unread counts.

As in app/api/schemas.py, one marshmallow schema validates what a client sends and
describes it in the OpenAPI document.
"""

import marshmallow as ma
from marshmallow import validate

from app.api.field_messages import RequestSchema
from app.api.schemas import WRITTEN_TEXT, JsonInteger, next_link, not_blank
from app.models import (
    FOLLOWED,
    MAX_MESSAGE_LENGTH,
    MENTIONED,
    MESSAGED,
    REPLIED,
    UNREAD_COUNTED,
    Message,
)
from app.pagination import MAX_POST_ID

# A client's key is kept where the site's form keeps its own (Message.submission), so
# it is at most as long, in the alphabet of the form's keys (secrets.token_urlsafe).
# Python's pattern ends with \Z ($ would let a newline through); the document's is
# ECMA-262's, where $ is the end.
IDEMPOTENCY_KEY_LENGTH = Message.__table__.c.submission.type.length
IDEMPOTENCY_KEY = r"^[A-Za-z0-9_-]+\Z"
IDEMPOTENCY_KEY_DOCUMENTED = r"^[A-Za-z0-9_-]+$"


# --- Requests ------------------------------------------------------------------------


class NewMessageSchema(RequestSchema):
    body = ma.fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_MESSAGE_LENGTH), not_blank],
        metadata={
            "description": (
                f"The message: 1 to {MAX_MESSAGE_LENGTH} characters, not all spaces, kept as "
                "written"
            ),
            "pattern": WRITTEN_TEXT,
        },
    )
    idempotency_key = ma.fields.String(
        validate=[
            validate.Length(min=1, max=IDEMPOTENCY_KEY_LENGTH),
            validate.Regexp(IDEMPOTENCY_KEY, error="Letters, digits, - and _ only."),
        ],
        metadata={
            "description": (
                "Optional: a key of your own for this message (secrets.token_urlsafe(16), "
                "a UUID's hex). Sent again (a retry after a lost answer), the message is "
                "stored once and the answer is 200 with it; a key is one message's for good "
                "(409 with another)"
            ),
            "pattern": IDEMPOTENCY_KEY_DOCUMENTED,
        },
    )


class MarkReadSchema(RequestSchema):
    up_to = JsonInteger(
        required=True,
        validate=validate.Range(min=1, max=MAX_POST_ID),
        metadata={
            "description": (
                "The id of the newest notification you were shown: it and every older one "
                "are read; newer ones stay unread"
            )
        },
    )


# --- Responses -----------------------------------------------------------------------


class MessageSchema(ma.Schema):
    id = ma.fields.Integer(
        required=True, metadata={"description": "Later messages have greater ids"}
    )
    body = ma.fields.String(required=True, metadata={"description": "The text as written"})
    sender = ma.fields.String(required=True, metadata={"description": "The sender's username"})
    created_at = ma.fields.AwareDateTime(
        required=True, metadata={"description": "When it was sent"}
    )


class MessagePageSchema(ma.Schema):
    items = ma.fields.List(
        ma.fields.Nested(MessageSchema),
        required=True,
        metadata={"description": "Newest first"},
    )
    next = next_link()


class ConversationSchema(ma.Schema):
    username = ma.fields.String(
        required=True, metadata={"description": "The person the conversation is with"}
    )
    avatar_url = ma.fields.String(
        required=True, metadata={"format": "uri", "description": "Their picture (Gravatar)"}
    )
    unread = ma.fields.Boolean(
        required=True, metadata={"description": "Whether it holds a message you have not read"}
    )
    last_message = ma.fields.Nested(
        MessageSchema, required=True, metadata={"description": "Yours or theirs"}
    )
    url = ma.fields.String(
        required=True,
        metadata={"format": "uri-reference", "description": "Its messages (reading them reads)"},
    )
    html_url = ma.fields.String(
        required=True,
        metadata={"format": "uri-reference", "description": "Its page on the site"},
    )


class ConversationPageSchema(ma.Schema):
    items = ma.fields.List(
        ma.fields.Nested(ConversationSchema),
        required=True,
        metadata={"description": "The one with the newest message first"},
    )
    next = next_link()


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer(
        required=True, metadata={"description": "Name it as up_to to mark it read"}
    )
    kind = ma.fields.String(
        required=True,
        validate=validate.OneOf([FOLLOWED, REPLIED, MENTIONED, MESSAGED]),
        metadata={
            "description": "Followed you, replied to your post, named you in one, wrote to you"
        },
    )
    actor = ma.fields.String(required=True, metadata={"description": "Who did it: a username"})
    actor_url = ma.fields.String(
        required=True, metadata={"format": "uri-reference", "description": "Their profile"}
    )
    post_id = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The reply, or the post naming you"},
    )
    url = ma.fields.String(
        required=True,
        metadata={
            "format": "uri-reference",
            "description": "What it is about: the post, the conversation or the follower",
        },
    )
    created_at = ma.fields.AwareDateTime(required=True, metadata={"description": "When"})
    read_at = ma.fields.AwareDateTime(
        required=True,
        allow_none=True,
        metadata={"description": "When it was marked read; null while it is new"},
    )


class NotificationPageSchema(ma.Schema):
    items = ma.fields.List(
        ma.fields.Nested(NotificationSchema),
        required=True,
        metadata={"description": "Newest first"},
    )
    next = next_link()


class UnreadCountsSchema(ma.Schema):
    messages = ma.fields.Integer(
        required=True,
        metadata={
            "description": (
                f"Conversations with a message you have not read, up to {UNREAD_COUNTED}"
            )
        },
    )
    notifications = ma.fields.Integer(
        required=True,
        metadata={"description": f"Notifications you have not read, up to {UNREAD_COUNTED}"},
    )
