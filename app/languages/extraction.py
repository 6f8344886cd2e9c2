"""Every translatable string of app/, as Babel extracts it: the template of the catalogues."""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from werkzeug.exceptions import default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

APP_DIR = Path(__file__).resolve().parent.parent
MAPPING = APP_DIR.parent / "babel.cfg"
TRANSLATIONS = APP_DIR / "translations"
# Babel's own keywords (_, gettext, ngettext...), and the lazy ones of forms and
# module constants, which are translated when shown.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
# A comment starting so, just above a string, is shown to the translator beside it.
COMMENT_TAGS = ("TRANSLATORS:",)


def extract_messages() -> Catalog:
    """The strings of app/'s code and templates (babel.cfg says which files are which)."""
    with MAPPING.open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping, str(MAPPING))
    catalog = Catalog(project="Microblog", fuzzy=False)
    found = extract_from_dir(
        APP_DIR,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    )
    for filename, lineno, message, comments, context in found:
        path = f"app/{Path(filename).as_posix()}"
        catalog.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    add_werkzeug_messages(catalog)
    add_api_field_messages(catalog)
    return catalog


def add_werkzeug_messages(catalog: Catalog) -> None:
    """The names and descriptions of Werkzeug's HTTP errors.

    The error pages and the API's problems show them for a status the site has no
    words of its own for (a 401, a 409, a 415...), translated when shown as the
    site's own are. Taken from the installed Werkzeug: one whose words change shows
    up as untranslated strings, not as English on a Spanish page.
    """
    location = [("werkzeug/exceptions.py", None)]
    comment = ["Werkzeug's words for an HTTP error (its name or its description)"]
    for code, error in sorted(default_exceptions.items()):
        for message in (HTTP_STATUS_CODES[code], error.description):
            catalog.add(message, None, location, auto_comments=comment)


def add_api_field_messages(catalog: Catalog) -> None:
    """marshmallow's messages the API's request schemas can answer with (their fields'
    and validators' templates, app/api/field_messages.py)."""
    from app.api.field_messages import request_schemas, templates_of

    comment = ["A message of the API about a field the client sent"]
    for schema in request_schemas():
        location = [(f"{schema.__module__.replace('.', '/')}.py", None)]
        for message in templates_of(schema()):
            catalog.add(message, None, location, auto_comments=comment)
