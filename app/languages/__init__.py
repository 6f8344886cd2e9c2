"""The site in the reader's language (its one init_app is in app/languages/setup.py).

A request's language, first found: the signed-in user's stored choice, the choice a
visitor made (a cookie), the browser's Accept-Language, English. Anything else in
the cookie or the header (an unknown language, a malformed or huge value) is passed
over, never an error. The catalogues are compiled from their .po files when first
used (app/languages/catalogues.py); the translator's commands are `flask translate`
(app/languages/commands.py). See docs/languages.md.

This module holds only what the rest of the app marks and translates its words with,
so that any module can import it without an import cycle.
"""

from flask_babel import gettext

# The language of the code's own strings, and of everything said to the admins.
DEFAULT = "en"
# A visitor's choice of language; a signed-in user's is stored with them too
# (User.language).
COOKIE = "language"


def translated(message: str | None) -> str:
    """``message`` in the reader's language, when the catalogue has it; "" for nothing.

    gettext("") would answer the catalogue's header.
    """
    return gettext(message) if message else ""


def N_(message: str) -> str:  # noqa: N802 - the name gettext's tools know
    """Mark ``message`` for the catalogues without translating it here.

    For English messages kept as constants (an error's description, an API problem's
    detail): the error handlers translate them when they are shown, in the reader's
    language, while logs and admin reports keep the English.
    """
    return message
