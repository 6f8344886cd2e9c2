"""The form of the pages: a post."""

from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

MAX_POST_LENGTH = 140


class PostForm(FlaskForm):
    body = TextAreaField(
        "Say something",
        validators=[DataRequired(), Length(min=1, max=MAX_POST_LENGTH)],
        description=f"At most {MAX_POST_LENGTH} characters.",
        # static/post-counter.js counts down in the hint while the post is written.
        render_kw={"data-counter": "body-help"},
    )
    submit = SubmitField("Submit")
