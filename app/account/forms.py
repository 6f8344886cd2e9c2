"""Forms of the account pages: the profile and a new password."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from app.auth.forms import (
    NEW_PASSWORD_HINT,
    USERNAME_HINT,
    USERNAME_TAKEN,
    flag_if_taken,
    username_rules,
)
from app.auth.passwords import new_password_rules
from app.models import User


class EditProfileForm(FlaskForm):
    username = StringField(_l("Username"), validators=username_rules, description=USERNAME_HINT)
    about_me = TextAreaField(_l("About me"), validators=[Length(max=140)])
    submit = SubmitField(_l("Save"))

    def __init__(self, original_username: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.original_username = original_username

    def validate_username(self, field: StringField) -> None:
        if field.data.lower() != self.original_username.lower() and User.by_username(field.data):
            raise ValidationError(USERNAME_TAKEN)

    def report_taken_fields(self) -> bool:
        """After a lost race on a unique index, say that the name was taken."""
        return flag_if_taken(self.username, User.by_username(self.username.data), USERNAME_TAKEN)


class ChangePasswordForm(FlaskForm):
    """Shown on the profile editor with ``prefix="password"`` (its own field ids)."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=new_password_rules,
        description=NEW_PASSWORD_HINT,
        render_kw={"autocomplete": "new-password"},
    )
    new_password2 = PasswordField(
        _l("Repeat new password"),
        validators=[InputRequired(), EqualTo("new_password", message=_l("Passwords must match."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))

    def __init__(self, user: User | None = None, *args, **kwargs) -> None:
        """``user`` is whose password the form checks; None for a form only shown."""
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_current_password(self, field: PasswordField) -> None:
        if self.user is None or not self.user.check_password(field.data):
            raise ValidationError(_l("Your current password is not correct."))
