"""The form of a private message."""

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from app.models import MAX_MESSAGE_LENGTH

# What secrets.token_urlsafe(16) writes: 22 characters of the URL-safe alphabet.
SUBMISSION_SHAPE = r"^[A-Za-z0-9_-]{22}\Z"


def new_submission() -> str:
    return secrets.token_urlsafe(16)


class MessageForm(FlaskForm):
    body = TextAreaField(
        "Your message",
        validators=[
            DataRequired(message="Write something to send."),
            Length(
                max=MAX_MESSAGE_LENGTH,
                message=f"A message is at most {MAX_MESSAGE_LENGTH} characters long.",
            ),
        ],
        description=f"At most {MAX_MESSAGE_LENGTH} characters.",
        # static/post-counter.js counts down in the hint while the message is written.
        render_kw={"data-counter": "body-help"},
    )
    # A new random key each time the form is shown, sent back with it: the same form
    # sent twice (a double click, two tabs of one page, a page sent again) is
    # stored once (the unique index on Message.submission).
    submission = HiddenField(
        validators=[InputRequired(), Regexp(SUBMISSION_SHAPE)], default=new_submission
    )
    submit = SubmitField("Send")

    def submission_was_forged(self) -> bool:
        """Whether the hidden key is missing or not one this site writes: no page sends that."""
        return bool(self.submission.errors)
