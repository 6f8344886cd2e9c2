"""The catalogues as tests read them: what is untranslated, and a pseudo-locale.

The pseudo-locale is made at test time from the strings Babel extracts from app/
(app.languages.extraction): every message's letters swapped for accented look-alikes
inside ⟦ ⟧, its placeholders and markup kept. A page served in it shows at a glance,
and to a script, every string that did not come from the catalogue.
"""

import re
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from wtforms.i18n import messages_path

from app.languages.catalogues import catalogue_path
from app.languages.commands import has_translation
from app.languages.extraction import extract_messages

# Esperanto stands in for the pseudo-locale: Babel knows it (a locale Flask-Babel can
# select), the site does not offer it, and its plural rule is English's.
PSEUDO = "eo"
OPEN, CLOSE = "⟦", "⟧"
LOOK_ALIKES = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "áƀçđéƒĝĥíĵķłɱñóþǫŕšţúṽŵẋýžÁƁÇĐÉƑĜĤÍĴĶŁṀÑÓṖǪŔŠŢÚṼŴẊÝŽ",
)
PSEUDO_LETTERS = frozenset("áƀçđéƒĝĥíĵķłɱñóþǫŕšţúṽŵẋýžÁƁÇĐÉƑĜĤÍĴĶŁṀÑÓṖǪŔŠŢÚṼŴẊÝŽ⟦⟧")
# What must reach the page as written: %(name)s placeholders, markup and entities,
# and the {n} / {name} placeholders the scripts fill in.
KEPT = re.compile(r"%\(\w+\)[sd]|%%|<[^>]*>|&\w+;|\{\w+\}")


def untranslated(template: Catalog, catalogue: Catalog) -> list[str]:
    """The messages of ``template`` that ``catalogue`` lacks, has fuzzy, or leaves empty."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalogue.get(message.id, message.context)
        if found is None or found.fuzzy or not has_translation(found):
            missing.append(str(message.id))
    return missing


def pseudo(text: str) -> str:
    """``text`` with its letters swapped for look-alikes, within ⟦ ⟧; placeholders kept."""
    pieces, start = [], 0
    for kept in KEPT.finditer(text):
        pieces += [text[start : kept.start()].translate(LOOK_ALIKES), kept.group()]
        start = kept.end()
    pieces.append(text[start:].translate(LOOK_ALIKES))
    return OPEN + "".join(pieces) + CLOSE


def write_pseudo_catalogue(directory: Path) -> Path:
    """The pseudo-locale's catalogue of every extracted string, in ``directory``."""
    catalogue = Catalog(locale=Locale.parse(PSEUDO), fuzzy=False)
    for message in extract_messages():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            string = tuple(pseudo(form) for form in message.id)
        else:
            string = pseudo(message.id)
        catalogue.add(message.id, string, context=message.context)
    path = catalogue_path(directory, PSEUDO)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalogue)
    write_pseudo_wtforms_catalogue(directory)
    return path


def write_pseudo_wtforms_catalogue(directory: Path) -> Path:
    """WTForms' own messages ("This field is required.") in the pseudo-locale, compiled
    as WTForms keeps its catalogues (``<directory>/<language>/LC_MESSAGES/wtforms.mo``):
    the forms' default messages come from WTForms' catalogues, not the site's."""
    with (Path(messages_path()) / "wtforms.pot").open("rb") as pot:
        template = read_po(pot)
    catalogue = Catalog(locale=Locale.parse(PSEUDO), domain="wtforms", fuzzy=False)
    for message in template:
        if message.id:
            forms = message.id if isinstance(message.id, tuple) else (message.id,)
            string = tuple(map(pseudo, forms))
            catalogue.add(message.id, string if isinstance(message.id, tuple) else string[0])
    path = directory / PSEUDO / "LC_MESSAGES" / "wtforms.mo"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as mo:
        write_mo(mo, catalogue)
    return path


def looks_translated(text: str) -> bool:
    """Whether visible ``text`` came through the pseudo-locale: no letter at all (numbers,
    punctuation), or some of the pseudo-locale's own characters."""
    return not re.search("[A-Za-z]", text) or not PSEUDO_LETTERS.isdisjoint(text)
