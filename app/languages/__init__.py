"""The site in the reader's language: which language a request is answered in, one init_app.

A request's language, first found: the signed-in user's stored choice, the choice a
visitor made (a cookie), the browser's Accept-Language, English. Anything else in
the cookie or the header (an unknown language, a malformed or huge value) is passed
over, never an error. The catalogues are compiled from their .po files when first
used (app/languages/catalogues.py); the translator's commands are `flask translate`
(app/languages/commands.py). See docs/languages.md.
"""

from babel import Locale
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from app.languages import catalogues, commands
from app.languages.catalogues import babel
from app.languages.routes import COOKIE, bp

__all__ = ["DEFAULT", "bp", "init_app", "request_language", "selected_language"]

# The language of the code's own strings, and of everything said to the admins.
DEFAULT = "en"


def offered() -> tuple[str, ...]:
    return current_app.config["LANGUAGES"]


def request_language() -> str:
    """The language the request's own headers and cookie ask for, without the user."""
    languages = offered()
    chosen = request.cookies.get(COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages, default=DEFAULT)


def selected_language() -> str:
    """Flask-Babel's locale selector: the language of the current request."""
    if not has_request_context():
        # Background jobs and commands: English, unless the caller forces the
        # language of whoever it writes to (app.mail.send_email).
        return DEFAULT
    stored = current_user.language if current_user.is_authenticated else None
    if stored in offered():
        return stored
    return request_language()


def template_language() -> dict[str, object]:
    """``language`` (the page's, for <html lang>), and the selector's ``languages`` and
    their ``language_names``."""
    return {
        "language": get_locale().language,
        "languages": offered(),
        "language_names": current_app.extensions["language_names"],
    }


def own_names(languages: tuple[str, ...]) -> dict[str, str]:
    """Each language's name in itself ("English", "Español"), as CLDR writes it."""
    return {code: Locale.parse(code).get_display_name(code).capitalize() for code in languages}


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=selected_language)
    # {% trans %} blocks are written over several lines; their msgids are one line.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.extensions["language_names"] = own_names(app.config["LANGUAGES"])
    app.context_processor(template_language)
    app.register_blueprint(bp)
    app.cli.add_command(commands.translate)
    catalogues.init_app(app)
