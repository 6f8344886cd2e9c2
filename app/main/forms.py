"""Forms of the pages: a post and the profile editor."""

from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.auth.forms import USERNAME_HINT, USERNAME_TAKEN, flag_if_taken, username_rules
from app.models import User

MAX_POST_LENGTH = 140


class EditProfileForm(FlaskForm):
    username = StringField("Username", validators=username_rules, description=USERNAME_HINT)
    about_me = TextAreaField("About me", validators=[Length(max=140)])
    submit = SubmitField("Save")

    def __init__(self, original_username: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.original_username = original_username

    def validate_username(self, field: StringField) -> None:
        if field.data.lower() != self.original_username.lower() and User.by_username(field.data):
            raise ValidationError(USERNAME_TAKEN)

    def report_taken_fields(self) -> bool:
        """After a lost race on a unique index, say that the name was taken."""
        return flag_if_taken(self.username, User.by_username(self.username.data), USERNAME_TAKEN)


class PostForm(FlaskForm):
    body = TextAreaField(
        "Say something",
        validators=[DataRequired(), Length(min=1, max=MAX_POST_LENGTH)],
        description=f"At most {MAX_POST_LENGTH} characters.",
        # static/post-counter.js counts down in the hint while the post is written.
        render_kw={"data-counter": "body-help"},
    )
    submit = SubmitField("Submit")
