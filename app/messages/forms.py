"""The form of a private message."""

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from app.models import MAX_MESSAGE_LENGTH
from app.posts.forms import counter_attributes

# What secrets.token_urlsafe(16) writes: 22 characters of the URL-safe alphabet.
SUBMISSION_SHAPE = r"^[A-Za-z0-9_-]{22}\Z"


def new_submission() -> str:
    return secrets.token_urlsafe(16)


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Your message"),
        validators=[
            DataRequired(message=_l("Write something to send.")),
            Length(
                max=MAX_MESSAGE_LENGTH,
                message=_l(
                    "A message is at most %(count)s characters long.", count=MAX_MESSAGE_LENGTH
                ),
            ),
        ],
        description=_l("At most %(count)s characters.", count=MAX_MESSAGE_LENGTH),
        # static/post-counter.js counts down in the hint while the message is written.
        render_kw=counter_attributes(),
    )
    # A new random key each time the form is shown, sent back with it: the same form
    # sent twice (a double click, two tabs of one page, a page sent again) is
    # stored once (the unique index on Message.submission).
    submission = HiddenField(
        validators=[InputRequired(), Regexp(SUBMISSION_SHAPE)], default=new_submission
    )
    submit = SubmitField(_l("Send"))

    def submission_was_forged(self) -> bool:
        """Whether the hidden key is missing or not one this site writes: no page sends that."""
        return bool(self.submission.errors)
