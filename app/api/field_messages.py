"""What the API says of the fields a client sent wrong, in the client's language.

marshmallow's fields and validators carry English templates ("Not a valid integer.",
"Length must be between {min} and {max}."), formatted when a field fails, which is
during the request: ``RequestSchema`` turns each template of its fields into a
``Template``, which is translated then, in that request's language. The schema's
own messages ("Unknown field."), which are never formatted, are translated with the
problem (app/api/problems.py). Every template of the request schemas is in the
catalogues: app/languages/extraction.py finds them with ``templates_of``, so a new
field or validator needs no marking by hand.
"""

from collections.abc import Iterator

import marshmallow as ma
from flask_babel import gettext

# Where marshmallow's validators (Length, Range, OneOf, Regexp...) keep their templates.
VALIDATOR_TEMPLATES = ("error", "message_min", "message_max", "message_all")


class Template(str):
    """An English message template that is translated when it is formatted."""

    __slots__ = ()

    def format(self, *args: object, **kwargs: object) -> str:
        return gettext(str(self)).format(*args, **kwargs)


def fields_within(field: ma.fields.Field) -> Iterator[ma.fields.Field]:
    """``field``, and the fields of its items (a List's)."""
    yield field
    inner = getattr(field, "inner", None)
    if isinstance(inner, ma.fields.Field):
        yield from fields_within(inner)


def validator_templates(validator: object) -> Iterator[tuple[str, str]]:
    """The (attribute, template) pairs of one of marshmallow's validators; none for a
    function (``not_blank`` translates its own message)."""
    for name in VALIDATOR_TEMPLATES:
        text = getattr(validator, name, None)
        if isinstance(text, str):
            yield name, text


class RequestSchema(ma.Schema):
    """The schema of what a client sends: its field messages in the client's language."""

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        for field in fields_within(field_obj):
            field.error_messages = {
                key: Template(text) if isinstance(text, str) else text
                for key, text in field.error_messages.items()
            }
            for validator in field.validators:
                for name, text in validator_templates(validator):
                    setattr(validator, name, Template(text))


def templates_of(schema: ma.Schema) -> Iterator[str]:
    """The English messages ``schema`` can answer with (for the catalogues)."""
    yield from schema.error_messages.values()
    for field_obj in schema.fields.values():
        for field in fields_within(field_obj):
            yield from (text for text in field.error_messages.values() if isinstance(text, str))
            for validator in field.validators:
                yield from (text for _, text in validator_templates(validator))


def request_schemas() -> Iterator[type[RequestSchema]]:
    """Every request schema of the API (its modules imported first)."""
    from app.api import message_schemas, schemas  # noqa: F401 - they define them

    pending = list(RequestSchema.__subclasses__())
    while pending:
        schema = pending.pop()
        pending += schema.__subclasses__()
        yield schema
