"""The translations, compiled from the .po files in memory when a language is first used.

No compiled .mo file is built, committed or shipped: a clean clone serves Spanish with
the README's two commands as they are, and a catalogue edited by a translator is what
the next start of the app serves, never a stale compiled copy. Compiling one takes a
few milliseconds, once per process and language.
"""

from io import BytesIO
from pathlib import Path

from babel import Locale, support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_app_context
from flask_babel import Babel, Domain, get_babel, get_locale
from werkzeug.utils import cached_property

DOMAIN = "messages"
# Where a request keeps its translations once found: (its locale, the translations).
TRANSLATIONS_OF_REQUEST = "language_translations"


def catalogue_path(directory: str | Path, language: str) -> Path:
    return Path(directory) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled(directories: tuple[str, ...], locale: Locale) -> support.Translations:
    """The translations of ``locale`` from the .po files of ``directories``, merged."""
    translations = support.Translations(domain=DOMAIN)
    for directory in directories:
        path = catalogue_path(directory, str(locale))
        if not path.is_file():
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=locale, domain=DOMAIN)
        mo = BytesIO()
        # Fuzzy entries are a translator's guesses, left for review: never served.
        write_mo(mo, catalog, use_fuzzy=False)
        mo.seek(0)
        found = support.Translations(mo, domain=DOMAIN)
        translations.merge(found)
        # merge() copies the messages but not the language's plural rule.
        translations.plural = found.plural
    return translations


class CompiledOnFirstUse(Domain):
    """Flask-Babel's domain, its translations read from .po files rather than .mo files."""

    def get_translations(self) -> support.NullTranslations:
        if not has_app_context():
            return support.NullTranslations()
        locale = get_locale()
        # Found once per request (and per locale: force_locale makes a new one); a page
        # asks for its translations some fifty times.
        found = g.get(TRANSLATIONS_OF_REQUEST)
        if found is not None and found[0] is locale:
            return found[1]
        # Keyed by the directories too: every app a test builds may have its own.
        key = (tuple(self.translation_directories), str(locale))
        translations = self.cache.get(key)
        if translations is None:
            translations = self.cache[key] = compiled(key[0], locale)
        setattr(g, TRANSLATIONS_OF_REQUEST, (locale, translations))
        return translations


class Catalogues(Babel):
    """Flask-Babel, with the domain above."""

    @cached_property
    def domain_instance(self) -> Domain:
        return CompiledOnFirstUse(domain=DOMAIN)


# Here rather than in app/extensions.py with the others: it is this package's own kind.
babel = Catalogues()


def install_template_callables(app: Flask) -> None:
    """The templates' _, gettext and ngettext, straight to the request's translations.

    Flask-Babel's go through four lookups of the request context each (the domain,
    the locale, the translations); the page's fifty strings made that a tenth of the
    home feed's time (docs/performance.md). Newstyle, as Flask-Babel's: the values are
    escaped and filled in by Jinja.
    """
    domain = babel.domain_instance
    app.jinja_env.install_gettext_callables(
        gettext=lambda message: domain.get_translations().ugettext(message),
        ngettext=lambda singular, plural, n: domain.get_translations().ungettext(
            singular, plural, n
        ),
        newstyle=True,
    )


def init_app(app: Flask) -> None:
    """Warn at start-up of a language offered without a catalogue: it would be English.

    A warning, not a refusal: `flask translate init` is how its catalogue is made.
    """
    with app.app_context():
        directories = get_babel().translation_directories
    for language in app.config["LANGUAGES"]:
        if language != "en" and not any(
            catalogue_path(d, language).is_file() for d in directories
        ):
            app.logger.warning("LANGUAGES offers %r, which has no catalogue", language)
