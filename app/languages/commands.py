"""flask translate: the translator's commands (docs/languages.md)."""

import sys
from io import BytesIO
from pathlib import Path

import click
from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from app.languages.catalogues import catalogue_path
from app.languages.extraction import TRANSLATIONS, extract_messages


@click.group()
def translate() -> None:
    """Keep the catalogues of app/translations/ in step with the code."""


def save(catalog: Catalog, path: Path) -> None:
    written = BytesIO()
    # Without line numbers: a string that only moved changes nothing in the
    # catalogue, and branches that add strings merge without conflicts.
    write_po(written, catalog, ignore_obsolete=True, include_lineno=False, width=99)
    # Written whole once made: a failure half-way never leaves a truncated catalogue.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(written.getvalue())


def catalogues() -> list[Path]:
    return sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def has_translation(message: Message) -> bool:
    """Every form of ``message`` (one, or one per plural form) is translated."""
    forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return all(forms)


def counts(catalog: Catalog) -> tuple[int, int, int]:
    """The catalogue's (translated, fuzzy, untranslated) messages."""
    messages = [m for m in catalog if m.id]
    fuzzy = sum(1 for m in messages if m.fuzzy)
    untranslated = sum(1 for m in messages if not m.fuzzy and not has_translation(m))
    return len(messages) - fuzzy - untranslated, fuzzy, untranslated


@translate.command()
@click.argument("language")
def init(language: str) -> None:
    """Start the catalogue of LANGUAGE (such as fr, or pt_BR), every string untranslated."""
    try:
        locale = Locale.parse(language)
    except (ValueError, UnknownLocaleError) as error:
        raise click.BadParameter(str(error), param_hint="LANGUAGE") from error
    path = catalogue_path(TRANSLATIONS, language)
    if path.exists():
        raise click.ClickException(f"{path} exists already: use flask translate update")
    catalog = Catalog(locale=locale, project="Microblog", fuzzy=False)
    catalog.update(extract_messages())
    save(catalog, path)
    click.echo(f"{path}: {len(catalog)} strings to translate")


@translate.command()
def update() -> None:
    """Bring every catalogue up to the code: new strings added, strings gone removed."""
    template = extract_messages()
    for path in catalogues():
        with path.open("rb") as po:
            catalog = read_po(po)
        # A changed string keeps its old translation, marked fuzzy (never served)
        # until a translator checks it.
        catalog.update(template, update_creation_date=False)
        save(catalog, path)
        translated, fuzzy, untranslated = counts(catalog)
        click.echo(f"{path}: {translated} translated, {fuzzy} fuzzy, {untranslated} untranslated")


@translate.command("compile")
def compile_catalogues() -> None:
    """Compile every catalogue as the app does, and say what is wrong or missing.

    Nothing is written: the app compiles the .po files itself when it first uses a
    language (app/languages/catalogues.py). Fails on a broken placeholder.
    """
    broken = False
    for path in catalogues():
        with path.open("rb") as po:
            catalog = read_po(po)
        for message, errors in catalog.check():
            broken = True
            for error in errors:
                click.echo(f"{path}: {message.id!r}: {error}", err=True)
        write_mo(BytesIO(), catalog)
        translated, fuzzy, untranslated = counts(catalog)
        click.echo(f"{path}: {translated} translated, {fuzzy} fuzzy, {untranslated} untranslated")
    if broken:
        sys.exit(1)
