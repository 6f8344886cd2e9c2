"""Languages: the Spanish catalogue is complete, the language is chosen as the reader asks,
plurals, forms, emails and the API speak it, and the admins' reports stay English.

Hostile Accept-Language headers and language cookies on every page are in
test_hostile_requests.py, with the other classes of hostile input.
"""

import re
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import abort
from markupsafe import escape
from werkzeug.exceptions import default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from app.extensions import db
from app.languages import DEFAULT
from app.languages.catalogues import catalogue_path
from app.languages.extraction import TRANSLATIONS, extract_messages
from app.models import Post, User
from config import Config
from testkit.api_clients import bearer, obtain_token
from testkit.clients import Auth, make_user, page_text, submit
from testkit.languages import PSEUDO, pseudo, untranslated, write_pseudo_catalogue
from testkit.services.smtp import body_of, context_of

SPANISH = {"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}
SITE_URL = "https://blog.example.com"


TRANSLATED = [language for language in Config.LANGUAGES if language != DEFAULT]


def catalogue_of(language: str) -> Catalog:
    with catalogue_path(TRANSLATIONS, language).open("rb") as po:
        return read_po(po)


def spanish_catalogue() -> Catalog:
    return catalogue_of("es")


def page_language(response) -> str:
    return re.search(r'<html lang="([^"]*)"', page_text(response)).group(1)


def choose_language(client, language: str, from_page: str = "http://localhost/explore"):
    """The footer's selector, used on ``from_page`` (the Referer the browser sends)."""
    return submit(
        client,
        "/language",
        {"language": language},
        form_page="/explore",
        headers={"Referer": from_page},
    )


# --- The catalogue -----------------------------------------------------------------------


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_of_the_code_and_templates_is_translated(language):
    """Extracted afresh from app/ (templates, forms, flashes, Python): each one has a
    translation in every offered language, not fuzzy, every plural form filled in."""
    template = extract_messages()
    assert len(template) > 300
    assert untranslated(template, catalogue_of(language)) == []


def test_a_string_added_without_its_translation_is_reported():
    template = extract_messages()
    template.add("A sentence nobody translated yet", locations=[("app/new.py", 1)])
    template.add(("%(num)d new thing", "%(num)d new things"), locations=[("app/new.py", 2)])
    catalogue = spanish_catalogue()
    catalogue.add(("%(num)d new thing", "%(num)d new things"), ("%(num)d cosa nueva", "", ""))
    fuzzy = next(m for m in catalogue if m.id == "Explore")
    fuzzy.flags.add("fuzzy")

    assert untranslated(template, catalogue) == [
        "Explore",
        "A sentence nobody translated yet",
        "('%(num)d new thing', '%(num)d new things')",
    ]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_keeps_every_placeholder(language):
    """Babel's checks: a translation that drops or renames a %(name)s would fail to format."""
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue_of(language).check()]
    assert problems == []


# --- Choosing the language ---------------------------------------------------------------


def test_a_browser_asking_for_spanish_gets_the_site_in_spanish(client):
    response = client.get("/explore", headers={"Accept-Language": "es-MX,es;q=0.8"})
    assert page_language(response) == "es"
    text = page_text(response)
    assert "<title>Explorar - Microblog</title>" in text
    assert "Lo que dice todo el mundo en Microblog" in text
    assert 'href="/login">Entrar</a>' in text


def test_english_without_an_accept_language_and_for_languages_not_offered(client):
    assert page_language(client.get("/explore")) == "en"
    assert (
        page_language(client.get("/explore", headers={"Accept-Language": "fr, de;q=0.5"})) == "en"
    )
    # The reader's order decides among the offered ones.
    assert (
        page_language(client.get("/explore", headers={"Accept-Language": "es;q=0.5, en;q=0.8"}))
        == "en"
    )
    assert (
        page_language(client.get("/explore", headers={"Accept-Language": "es;q=0.9, en;q=0.8"}))
        == "es"
    )


def test_a_visitor_chooses_a_language_that_outranks_the_browser(client):
    response = choose_language(client, "es", "http://localhost/login?next=%2Findex")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Findex"
    cookie = client.get_cookie("language")
    assert cookie.value == "es" and cookie.http_only and cookie.same_site == "Lax"
    assert page_language(client.get("/login", headers={"Accept-Language": "en"})) == "es"

    choose_language(client, "en")
    assert page_language(client.get("/login", headers=SPANISH)) == "en"


def test_the_footer_offers_each_language_in_its_own_name(client):
    text = page_text(client.get("/explore", headers=SPANISH))
    assert '<option value="en" lang="en">English</option>' in text
    assert '<option value="es" lang="es" selected>Español</option>' in text


def test_a_language_not_offered_is_refused_with_a_clear_message(client):
    for forged in ["fr", "", "es\n", "ES", "x" * 5000, "../es"]:
        response = choose_language(client, forged)
        assert response.status_code == 400
        assert "This site is not offered in that language" in page_text(response)
        assert client.get_cookie("language") is None


def test_the_choice_needs_the_form_s_csrf_token(client):
    response = client.post("/language", data={"language": "es"})
    assert response.status_code == 400
    assert client.get_cookie("language") is None


def test_a_page_of_another_site_sends_the_reader_home(client):
    for elsewhere in ["https://evil.example/", "http://localhost//evil.example/", ""]:
        response = choose_language(client, "es", elsewhere)
        assert response.headers["Location"] == "/index", elsewhere


@pytest.mark.both_databases
def test_a_member_s_choice_is_stored_and_follows_them_to_another_browser(app, client, alice):
    Auth(client).login()
    choose_language(client, "es")
    with app.app_context():
        assert db.session.scalar(sa.select(User.language).where(User.id == alice.id)) == "es"

    elsewhere = app.test_client()
    Auth(elsewhere).login()
    response = elsewhere.get("/index", headers={"Accept-Language": "en"})
    assert page_language(response) == "es"
    assert "¡Hola, alice!" in page_text(response)


def test_a_stored_language_no_longer_offered_falls_back_to_the_browser(app, client, alice):
    with app.app_context():
        db.session.execute(sa.update(User).values(language="fr"))
        db.session.commit()
    Auth(client).login()
    assert page_language(client.get("/index", headers=SPANISH)) == "es"
    assert page_language(client.get("/index")) == "en"


# --- What is said in Spanish ---------------------------------------------------------------


def test_counts_take_the_plural_form_of_each_language(app, client, logged_in):
    def followed_by(name: str) -> None:
        make_user(name).follow(User.by_username("alice"))
        db.session.commit()

    followed_by("bob")
    english = page_text(client.get("/user/alice"))
    spanish = page_text(client.get("/user/alice", headers=SPANISH))
    assert "1 follower</a>" in english and "1 seguidor</a>" in spanish
    followed_by("carol")
    english = page_text(client.get("/user/alice"))
    spanish = page_text(client.get("/user/alice", headers=SPANISH))
    assert "2 followers</a>" in english and "2 seguidores</a>" in spanish


def test_reply_counts_take_the_plural_form(app, client, alice):
    post = Post.publish("A question", alice.id)
    Post.publish("One answer", alice.id, reply_to=post)
    db.session.commit()
    assert "1 respuesta</a>" in page_text(client.get("/explore", headers=SPANISH))
    Post.publish("Another answer", alice.id, reply_to=db.session.get(Post, post.id))
    db.session.commit()
    assert "2 respuestas</a>" in page_text(client.get("/explore", headers=SPANISH))
    assert "2 replies</a>" in page_text(client.get("/explore"))


def test_form_labels_and_validation_errors_are_spanish(client):
    form = {"username": "a b", "email": "nope", "password": "x", "password2": "y"}
    response = submit(client, "/register", form, headers=SPANISH)
    text = page_text(response)
    assert 'for="username">Nombre de usuario</label>' in text
    assert "Usa solo letras, cifras, puntos, guiones y guiones bajos." in text
    assert "Escribe una dirección de correo válida" in text
    assert "Las contraseñas deben coincidir." in text
    # WTForms' own messages come from its Spanish catalogue.
    text = page_text(submit(client, "/register", {"username": ""}, headers=SPANISH))
    assert "Este campo es obligatorio." in text


def test_flash_messages_are_spanish(client, alice):
    response = Auth(client).login(password="wrong password", headers=SPANISH)
    assert response.status_code == 302
    assert "Nombre de usuario o contraseña incorrectos" in page_text(
        client.get("/login", headers=SPANISH)
    )


def test_error_pages_are_spanish(client):
    text = page_text(client.get("/no-such-page", headers=SPANISH))
    assert '<h1 class="h3">Página no encontrada</h1>' in text
    # A view's own reason for a refusal is translated too.
    too_long = client.get("/search", query_string={"q": "x" * 500}, headers=SPANISH)
    assert too_long.status_code == 400
    assert "Busca como máximo 200 caracteres." in page_text(too_long)


def test_the_api_s_problem_prose_is_spanish_and_its_machine_fields_are_not(client):
    response = client.get("/api/v1/users/nobody", headers=SPANISH)
    problem = response.get_json()
    assert response.status_code == 401
    assert problem["title"] == "No autorizado"
    assert problem["detail"].startswith("Esta llamada necesita un token")
    assert (problem["type"], problem["status"]) == ("about:blank", 401)
    english = client.get("/api/v1/users/nobody").get_json()
    assert (english["title"], english["detail"][:19]) == ("Unauthorized", "This call needs a t")


def test_every_http_error_of_werkzeug_s_is_spanish_on_pages_and_in_the_api(app, client):
    """A status the site has no words of its own for (a 401, a 409, a 415...) shows
    Werkzeug's name and description, from the catalogue: none is left in English."""

    def refuse(code: int) -> NoReturn:
        abort(code)

    app.add_url_rule("/refused/<int:code>", "refused", refuse)
    app.add_url_rule("/api/v1/refused/<int:code>", "api_refused", refuse)
    for code, error in sorted(default_exceptions.items()):
        english = (HTTP_STATUS_CODES[code], error.description)
        page = page_text(client.get(f"/refused/{code}", headers=SPANISH))
        heading = re.search(r'<h1 class="h3">([^<]*)</h1>', page).group(1)
        assert heading and heading != str(escape(english[0])), code
        assert str(escape(english[1])) not in page, code
        problem = client.get(f"/api/v1/refused/{code}", headers=SPANISH).get_json()
        assert problem["status"] == code
        assert problem["title"] not in english and problem["title"], code
        assert problem["detail"] not in english and problem["detail"], code
    page = page_text(client.get("/refused/409", headers=SPANISH))
    assert '<h1 class="h3">Conflicto</h1>' in page
    assert "Hubo un conflicto al procesar la solicitud." in page
    problem = client.get("/api/v1/refused/415", headers=SPANISH).get_json()
    assert problem["title"] == "Tipo de contenido no admitido"
    assert problem["detail"] == (
        "El servidor no admite el tipo de contenido enviado en la solicitud."
    )


@pytest.mark.parametrize(
    ("method", "path", "sent", "field", "spanish"),
    [
        (
            "post",
            "/api/v1/posts",
            {"json": {"body": "x" * 141}},
            "body",
            "La longitud debe estar entre 1 y 140.",
        ),
        (
            "post",
            "/api/v1/posts",
            {"json": {"body": " "}},
            "body",
            "No puede estar vacío ni tener solo espacios.",
        ),
        ("post", "/api/v1/posts", {"json": {}}, "body", "Falta este campo obligatorio."),
        ("post", "/api/v1/posts", {"json": {"body": 3}}, "body", "No es un texto válido."),
        ("post", "/api/v1/posts", {"json": {"body": "a", "x": 1}}, "x", "Campo desconocido."),
        ("post", "/api/v1/posts", {"json": ["a"]}, "(body)", "Tipo de dato no válido."),
        (
            "get",
            "/api/v1/explore?limit=0",
            {},
            "limit",
            "Debe ser mayor o igual que 1 y menor o igual que 100.",
        ),
        ("get", "/api/v1/explore?limit=x", {}, "limit", "No es un número entero válido."),
        (
            "post",
            "/api/v1/messages/bob",
            {"json": {"body": "a", "idempotency_key": "a b"}},
            "idempotency_key",
            "Solo letras, cifras, - y _.",
        ),
    ],
)
def test_the_api_s_field_messages_are_spanish(client, method, path, sent, field, spanish):
    """marshmallow's messages, formatted ones too, in the client's language;
    the same request in English gets their English."""
    make_user("alice")
    make_user("bob")
    db.session.commit()
    token = bearer(obtain_token(client, "alice"))
    problem = client.open(path, method=method.upper(), headers={**token, **SPANISH}, **sent)
    problem = problem.get_json(force=True)
    assert {"field": field, "detail": spanish} in [
        {"field": e["field"], "detail": e["detail"]} for e in problem["errors"]
    ], problem
    assert spanish in problem["detail"]
    english = client.open(path, method=method.upper(), headers=token, **sent).get_json(force=True)
    [detail] = [e["detail"] for e in english["errors"] if e["field"] == field]
    assert detail != spanish


@pytest.fixture
def mail_settings(smtp) -> dict[str, object]:
    return {"MAIL_SERVER": smtp.host, "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 2}


@pytest.mark.parametrize(
    ("stored", "subject", "phrase"),
    [
        (
            "es",
            "Restablece tu contraseña de Microblog",
            "El enlace funciona una vez, durante 30 minutos.",
        ),
        (None, "Reset your Microblog password", "The link works once, for 30 minutes."),
    ],
)
def test_a_reset_email_is_in_the_account_s_language_whatever_the_page_s(
    make_app, smtp, mail_settings, stored, subject, phrase
):
    """The language stored with the account; English when none is: the page that asked
    may be anyone's."""
    app = make_app(SITE_URL=SITE_URL, **mail_settings)
    with app.app_context():
        make_user("alice").language = stored
        db.session.commit()
    client = app.test_client()
    submit(client, "/reset_password_request", {"email": "alice@example.com"}, headers=SPANISH)
    [message] = smtp.inbox.wait_for(1)
    assert message["Subject"] == subject
    assert phrase in body_of(message.get_body(("plain",)))
    html = body_of(message.get_body(("html",)))
    assert phrase in html
    assert f'<html lang="{stored or "en"}">' in html


def test_a_spanish_reader_s_crash_is_reported_to_the_admins_in_english(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    client = app.test_client()
    with app.app_context():
        make_user("alice").language = "es"
        db.session.commit()
    Auth(client).login()
    response = client.get("/crash/", headers=SPANISH)
    assert response.status_code == 500
    assert "Algo ha fallado" in page_text(response)

    [message] = smtp.inbox.wait_for(1)
    assert message["Subject"] == "Microblog Failure: DeliberateFailure at GET /crash/"
    body = body_of(message)
    assert "Traceback (most recent call last):" in body
    assert context_of(message)["User"] == "id 1 (alice)"
    assert not re.search("[áéíóúñ¿¡]", body)


def test_the_fallback_500_page_speaks_the_request_s_language(make_app, monkeypatch):
    """When even error.html fails, the plain page is Spanish for a Spanish browser."""
    app = make_app()
    client = app.test_client()

    def broken(*args, **kwargs):
        raise RuntimeError("the error page's template is broken")

    monkeypatch.setattr("app.errors.handlers.render_template", broken)
    response = client.get("/crash/", headers=SPANISH)
    assert response.status_code == 500
    text = page_text(response)
    assert '<html lang="es">' in text
    assert "<h1>Algo ha fallado</h1>" in text
    assert "Referencia del error:" in text


# --- The translator's commands -------------------------------------------------------------


@pytest.fixture
def translations(tmp_path, monkeypatch) -> Path:
    """The commands' catalogues folder, a copy in tmp_path."""
    folder = tmp_path / "translations"
    spanish = catalogue_path(folder, "es")
    spanish.parent.mkdir(parents=True)
    spanish.write_bytes(catalogue_path(TRANSLATIONS, "es").read_bytes())
    monkeypatch.setattr("app.languages.commands.TRANSLATIONS", folder)
    return folder


def test_translate_init_starts_a_catalogue_with_every_string(app, translations):
    result = app.test_cli_runner().invoke(args=["translate", "init", "fr"])
    assert result.exit_code == 0, result.output
    with catalogue_path(translations, "fr").open("rb") as po:
        french = read_po(po)
    assert str(french.locale) == "fr"
    assert len(untranslated(extract_messages(), french)) == len(extract_messages())
    again = app.test_cli_runner().invoke(args=["translate", "init", "fr"])
    assert again.exit_code != 0 and "exists already" in again.output
    unknown = app.test_cli_runner().invoke(args=["translate", "init", "xx-nonsense"])
    assert unknown.exit_code != 0


def test_translate_update_adds_new_strings_and_keeps_translations(app, translations, monkeypatch):
    real = extract_messages

    def with_a_new_string() -> Catalog:
        template = real()
        template.add("A string added since", locations=[("app/new.py", 1)])
        return template

    monkeypatch.setattr("app.languages.commands.extract_messages", with_a_new_string)
    result = app.test_cli_runner().invoke(args=["translate", "update"])
    assert result.exit_code == 0, result.output
    assert "1 untranslated" in result.output
    with catalogue_path(translations, "es").open("rb") as po:
        spanish = read_po(po)
    assert spanish["A string added since"].string == ""
    assert spanish["Explore"].string == "Explorar"
    assert untranslated(with_a_new_string(), spanish) == ["A string added since"]


def test_translate_compile_fails_on_a_broken_placeholder(app, translations):
    result = app.test_cli_runner().invoke(args=["translate", "compile"])
    assert result.exit_code == 0, result.output
    assert "0 fuzzy, 0 untranslated" in result.output

    path = catalogue_path(translations, "es")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('msgstr "¡Hola, %(name)s!"', 'msgstr "¡Hola, %(nombre)s!"'))
    broken = app.test_cli_runner().invoke(args=["translate", "compile"])
    assert broken.exit_code == 1
    assert "Hi, %(name)s!" in broken.output


# --- The pseudo-locale ---------------------------------------------------------------------


def test_the_pseudo_locale_changes_every_letter_and_keeps_placeholders_and_markup():
    assert pseudo('Hi, %(name)s! <a href="%(url)s">Go</a> &lt;x&gt; {n}') == (
        '⟦Ĥí, %(name)s! <a href="%(url)s">Ĝó</a> &lt;ẋ&gt; {n}⟧'
    )


def test_a_pseudo_locale_app_serves_every_string_transformed(make_app, tmp_path):
    directory = tmp_path / "pseudo"
    write_pseudo_catalogue(directory)
    app = make_app(
        LANGUAGES=("en", "es", PSEUDO),
        BABEL_TRANSLATION_DIRECTORIES=f"translations;{directory}",
    )
    text = page_text(app.test_client().get("/explore", headers={"Accept-Language": PSEUDO}))
    assert f'<html lang="{PSEUDO}">' in text
    assert '<h1 class="h3 mb-3">⟦Éẋþłóŕé⟧</h1>' in text


# --- Migration 0013 ------------------------------------------------------------------------


def user_columns() -> list[str]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.text('SELECT * FROM "user"')).keys())


@pytest.mark.both_databases
def test_migration_0013_adds_the_language_column_and_takes_it_back(make_app, empty_database_url):
    from flask_migrate import downgrade, upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(revision="0012")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (username, email, password_hash, session_token) '
                    "VALUES ('alice', 'alice@example.com', 'x', 'alice')"
                )
            )
        assert "language" not in user_columns()

        upgrade()

        assert User.by_username("alice").language is None
        User.by_username("alice").language = "es"
        db.session.commit()
        db.session.remove()

        downgrade(revision="0012")

        assert "language" not in user_columns()
        # The user table kept its case-insensitive unique names (no table rebuild).
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (username, email, password_hash, session_token) '
                    "VALUES ('ALICE', 'other@example.com', 'x', 'other')"
                )
            )
        with db.engine.connect() as connection:
            users = connection.execute(sa.text('SELECT username FROM "user"')).scalars()
            assert list(users) == ["alice"]
        db.engine.dispose()
