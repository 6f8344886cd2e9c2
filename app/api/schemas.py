"""The API's request and response bodies: one marshmallow schema each.

The same schemas validate what a client sends (flask-smorest's ``arguments``:
a wrong field is a 422 naming it) and describe it in the OpenAPI document, so
the document cannot drift from what the code accepts. Integers in a JSON body are
JSON's: "3" is not a number there (a query string has only text, so it is read).
"""

import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import validate

from app.api import tokens
from app.api.field_messages import RequestSchema
from app.pagination import MAX_PAGE, MAX_POST_ID
from app.posts.forms import MAX_POST_LENGTH, MAX_VERSION
from app.search.query import MAX_QUERY_LENGTH

MAX_PAGE_SIZE = 100
# Text without NUL: the site refuses NUL anywhere in a request with a 400 before any
# schema reads it (app/security/input_checks.py), and the document says so, in
# ECMA-262's spelling, which Python's re reads too.
TEXT = r"^[^\u0000]*$"
# What str.strip() takes away (str.isspace, no character above U+3000), spelled out:
# Python's \s and ECMA-262's are not the same set.
SPACES = "".join(f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace())
# Text without NUL and not of spaces alone: what ``not_blank`` lets through, said in
# the document, so that a client (and Schemathesis) knows a blank text is refused.
WRITTEN_TEXT = rf"^[^\u0000]*[^\u0000{SPACES}][^\u0000]*$"
# How the views read a query string: a parameter the operation does not have is an
# error (422), as an unknown field of a JSON body is (webargs would drop it silently).
IN_QUERY = {"location": "query", "unknown": ma.RAISE}


def text_parameter(converter: object) -> dict[str, object]:
    """A path's text parameter in the document (a username): text without NUL."""
    return {"type": "string", "minLength": 1, "pattern": TEXT}


class JsonInteger(ma.fields.Integer):
    """An integer of a JSON body, as JSON Schema reads one (the document's "integer").

    A number without a fraction is one, 3.0 included; text ("3") and true are not.
    """

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def not_blank(text: str) -> None:
    # The site's forms refuse a post of spaces alone (WTForms' DataRequired).
    if not text.strip():
        raise ma.ValidationError(_("Must not be empty or only spaces."))


def post_body() -> ma.fields.String:
    return ma.fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_POST_LENGTH), not_blank],
        metadata={
            "description": f"The post's text: 1 to {MAX_POST_LENGTH} characters, not all spaces",
            "pattern": WRITTEN_TEXT,
        },
    )


def nullable_time(description: str) -> ma.fields.AwareDateTime:
    return ma.fields.AwareDateTime(
        required=True, allow_none=True, metadata={"description": description}
    )


# --- Requests ------------------------------------------------------------------------


class TokenRequestSchema(RequestSchema):
    name = ma.fields.String(
        load_default="API token",
        validate=validate.Length(min=1, max=tokens.MAX_NAME_LENGTH),
        metadata={
            "description": "What the token is for, shown in your list of tokens",
            "pattern": TEXT,
        },
    )
    expires_in_days = JsonInteger(
        load_default=tokens.DEFAULT_DAYS,
        validate=validate.Range(min=1, max=tokens.MAX_DAYS),
    )


class NewPostSchema(RequestSchema):
    body = post_body()


class PostEditSchema(RequestSchema):
    body = post_body()
    version = JsonInteger(
        required=True,
        validate=validate.Range(min=1, max=MAX_VERSION),
        metadata={"description": "The version of the post the edit was made on"},
    )


class VersionArgsSchema(RequestSchema):
    version = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_VERSION),
        metadata={"description": "The version of the post the deletion was decided on"},
    )


class PageArgsSchema(RequestSchema):
    after = ma.fields.Integer(
        validate=validate.Range(min=1, max=MAX_POST_ID),
        metadata={"description": "Where the list goes on from: copy it from a `next` link"},
    )
    limit = ma.fields.Integer(
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": "Items per page (20 by default)"},
    )


class SearchArgsSchema(RequestSchema):
    q = ma.fields.String(
        required=True,
        validate=validate.Length(max=MAX_QUERY_LENGTH),
        metadata={
            "description": 'Words, "a phrase", -left out, a OR b (docs/search.md)',
            "pattern": TEXT,
        },
    )
    page = ma.fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "Copy it from a `next` link"},
    )


# --- Responses -----------------------------------------------------------------------


class IssuedTokenSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    token = ma.fields.String(
        required=True, metadata={"description": "Shown this once: the site keeps only its hash"}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)


class TokenSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    shown = ma.fields.String(
        required=True, metadata={"description": "The token's first characters"}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)
    last_used_at = nullable_time("Within a minute")
    current = ma.fields.Boolean(required=True, metadata={"description": "The token of this call"})


class TokenListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TokenSchema), required=True)


class PostSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    body = ma.fields.String(required=True, metadata={"description": "The text as written"})
    author = ma.fields.String(required=True, metadata={"description": "The author's username"})
    created_at = ma.fields.AwareDateTime(required=True)
    edited_at = nullable_time("When the author last changed it")
    version = ma.fields.Integer(
        required=True, metadata={"description": "Name it to edit or delete"}
    )
    reply_to = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "The id of the post it answers"}
    )
    reply_count = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True, metadata={"format": "uri-reference"})
    html_url = ma.fields.String(required=True, metadata={"format": "uri-reference"})


def next_link() -> ma.fields.String:
    return ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "uri-reference", "description": "The next page; null on the last"},
    )


class PostPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PostSchema), required=True)
    next = next_link()


class PersonSchema(ma.Schema):
    username = ma.fields.String(required=True)
    about_me = ma.fields.String(required=True, allow_none=True)
    avatar_url = ma.fields.String(required=True, metadata={"format": "uri"})
    url = ma.fields.String(required=True, metadata={"format": "uri-reference"})


class PeoplePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PersonSchema), required=True)
    next = next_link()


class ProfileSchema(PersonSchema):
    last_seen = nullable_time("When the user was last active on the site")
    followers_count = ma.fields.Integer(required=True)
    following_count = ma.fields.Integer(required=True)
    is_following = ma.fields.Boolean(
        required=True, metadata={"description": "Whether you follow this user"}
    )
    is_blocking = ma.fields.Boolean(
        required=True, metadata={"description": "Whether you block this user"}
    )
    posts_url = ma.fields.String(required=True, metadata={"format": "uri-reference"})
    followers_url = ma.fields.String(required=True, metadata={"format": "uri-reference"})
    following_url = ma.fields.String(required=True, metadata={"format": "uri-reference"})
    html_url = ma.fields.String(required=True, metadata={"format": "uri-reference"})


class SearchResultsSchema(PostPageSchema):
    people = ma.fields.List(
        ma.fields.Nested(PersonSchema),
        required=True,
        metadata={"description": "People whose names hold the text: on the first page only"},
    )
