"""Password rules: long enough, not too long to hash, and not a common password.

No composition rules (NIST SP 800-63B): length and a deny-list of passwords that
attackers try first protect better than demanding digits and symbols.
"""

from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from wtforms import Field
from wtforms.validators import InputRequired, Length, ValidationError

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
TOO_COMMON = _l("This password is too common: choose one that is harder to guess.")


@cache
def common_passwords() -> frozenset[str]:
    """The deny-list, read once on first use (never at import time)."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def is_common_password(password: str) -> bool:
    return password.lower() in common_passwords()


def refuse_common_password(form: object, field: Field) -> None:
    if is_common_password(field.data or ""):
        raise ValidationError(TOO_COMMON)


# InputRequired rather than DataRequired: a password is used exactly as typed, so
# one made of spaces is a password like any other; nothing is stripped or cut.
new_password_rules = [
    InputRequired(),
    Length(
        min=MIN_LENGTH,
        max=MAX_LENGTH,
        message=_l(
            "Passwords are %(min)s to %(max)s characters long.", min=MIN_LENGTH, max=MAX_LENGTH
        ),
    ),
    refuse_common_password,
]
