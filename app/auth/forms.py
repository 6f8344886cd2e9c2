"""Sign-in forms: registration, sign-in, password resets, and the rules accounts share."""

from typing import Protocol

import email_validator
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Regexp,
    ValidationError,
)

from app.auth.passwords import MAX_LENGTH, MIN_LENGTH, new_password_rules
from app.extensions import db
from app.languages import DEFAULT
from app.models import User

USERNAME_TAKEN = _l("Please use a different username.")
EMAIL_TAKEN = _l("Please use a different email address.")

username_rules = [
    DataRequired(),
    Length(min=3, max=64, message=_l("Usernames are 3 to 64 characters long.")),
    # ASCII only: look-alike letters from other scripts cannot impersonate a name,
    # and every name is safe in a URL path.
    Regexp(
        r"^[A-Za-z0-9_.-]+\Z",  # \Z, not $: "$" also matches before a final newline
        message=_l("Use only letters, digits, dots, dashes and underscores."),
    ),
]


# Hints shown under the fields (and read out with them), so people meet the rules
# before an error message tells them.
USERNAME_HINT = _l("3 to 64 letters, digits, dots, dashes or underscores.")
NEW_PASSWORD_HINT = _l(
    "%(min)s to %(max)s characters. Common passwords are refused.", min=MIN_LENGTH, max=MAX_LENGTH
)


def normalized_email(text: str) -> str:
    """The address as accounts store it (lower-cased); ValidationError when it is none."""
    try:
        address = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        # email_validator explains what is wrong in English only: a reader of another
        # language is told in the site's own words, without the detail.
        if get_locale().language == DEFAULT:
            raise ValidationError(str(error)) from None
        raise ValidationError(
            _("Enter a valid email address, such as name@example.com.")
        ) from None
    # Stored lower-cased: one mailbox, one account, one Gravatar.
    return address.normalized.lower()


def strip_spaces(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ChecksTakenNames(Protocol):
    def report_taken_fields(self) -> bool: ...


def commit_unless_taken(form: ChecksTakenNames) -> bool:
    """Commit, or turn a lost race on a unique index into the form's friendly error."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not form.report_taken_fields():
            raise
        return False
    return True


def flag_if_taken(field: StringField, owner: User | None, message: str) -> bool:
    """Add ``message`` to ``field`` when ``owner`` (another account) holds its value."""
    if owner is None:
        return False
    field.errors = [*field.errors, message]
    return True


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember_me = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


class RegistrationForm(FlaskForm):
    username = StringField(_l("Username"), validators=username_rules, description=USERNAME_HINT)
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=new_password_rules, description=NEW_PASSWORD_HINT
    )
    password2 = PasswordField(
        _l("Repeat password"),
        validators=[InputRequired(), EqualTo("password", message=_l("Passwords must match."))],
    )
    submit = SubmitField(_l("Register"))

    def validate_username(self, field: StringField) -> None:
        if User.by_username(field.data) is not None:
            raise ValidationError(USERNAME_TAKEN)

    def validate_email(self, field: StringField) -> None:
        field.data = normalized_email(field.data)
        if User.by_email(field.data) is not None:
            raise ValidationError(EMAIL_TAKEN)

    def report_taken_fields(self) -> bool:
        """After a lost race on a unique index, say which value was taken."""
        username_taken = flag_if_taken(
            self.username, User.by_username(self.username.data), USERNAME_TAKEN
        )
        email_taken = flag_if_taken(self.email, User.by_email(self.email.data), EMAIL_TAKEN)
        return username_taken or email_taken


class ResetPasswordRequestForm(FlaskForm):
    # Spaces around a pasted address are dropped: they are never part of one.
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254)],
        filters=[strip_spaces],
        render_kw={"autocomplete": "email"},
    )
    submit = SubmitField(_l("Send me a link"))

    def validate_email(self, field: EmailField) -> None:
        field.data = normalized_email(field.data)


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=new_password_rules,
        description=NEW_PASSWORD_HINT,
        render_kw={"autocomplete": "new-password"},
    )
    password2 = PasswordField(
        _l("Repeat new password"),
        validators=[InputRequired(), EqualTo("password", message=_l("Passwords must match."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Set new password"))
