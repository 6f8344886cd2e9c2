"""The forms of the data pages: starting an export, and deleting the account."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField
from wtforms.validators import InputRequired, ValidationError

from app.models import User

WRONG_PASSWORD = _l("Your password is not correct.")  # noqa: S105 - a message, not a password


class StartExportForm(FlaskForm):
    submit = SubmitField(_l("Export my data"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired()],
        description=_l("To confirm that it is you."),
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Delete my account"))

    def __init__(self, user: User | None = None, *args, **kwargs) -> None:
        """``user`` is whose password the form checks; None for a form only shown."""
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field: PasswordField) -> None:
        if self.user is None or not self.user.check_password(field.data):
            raise ValidationError(WRONG_PASSWORD)
