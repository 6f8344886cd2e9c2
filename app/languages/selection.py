"""Which language a request is answered in (Flask-Babel's locale selector), and what
the layout needs to say so."""

from typing import Any

from babel import Locale
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from app.languages import COOKIE, DEFAULT

# Browsers send a few dozen characters, a reader of many languages a hundred or two:
# anything longer is no browser's, and is not read (English).
MAX_ACCEPT_LANGUAGE = 512


def offered() -> tuple[str, ...]:
    return current_app.config["LANGUAGES"]


def request_language() -> str:
    """The language the request's own headers and cookie ask for, without the user."""
    languages = offered()
    chosen = request.cookies.get(COOKIE)
    if chosen in languages:
        return chosen
    if len(request.headers.get("Accept-Language", "")) > MAX_ACCEPT_LANGUAGE:
        return DEFAULT
    return request.accept_languages.best_match(languages, default=DEFAULT)


def language_of(user: Any) -> str:
    """The language to write to ``user`` in (emails): their stored choice, else English."""
    stored = user.language
    return stored if stored in offered() else DEFAULT


def selected_language() -> str:
    """Flask-Babel's locale selector: the language of the current request."""
    if not has_request_context():
        # Background jobs and commands: English; the emails to members are written
        # under force_locale(language_of(user)) (password reset, export, deletion).
        return DEFAULT
    stored = current_user.chosen_language if current_user.is_authenticated else None
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
