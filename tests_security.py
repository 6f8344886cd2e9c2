"""Hostile tests for the security hardening (issue 4)."""

import logging
import os
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from markupsafe import escape
from werkzeug.security import check_password_hash

from app import db, models
from app.models import User
from app.passwords import MAX_LENGTH, MIN_LENGTH, common_passwords
from app.security_headers import CONTENT_SECURITY_POLICY, HSTS
from conftest import PASSWORD, Auth, build_app, csrf_token, make_user, submit

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def page_text(response) -> str:
    return response.get_data(as_text=True)


def assert_security_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name


def test_csp_is_exactly_the_documented_policy() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; img-src 'self' data: https://www.gravatar.com; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/login", 200), ("GET", "/no-such-page", 404), ("DELETE", "/login", 405)],
)
def test_security_headers_on_pages_and_error_pages(client, method, path, status) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert_security_headers(response)
    assert "Strict-Transport-Security" not in response.headers


def test_security_headers_on_500_from_failing_route() -> None:
    app: Flask = build_app(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    with app.app_context():
        db.create_all()
        response = app.test_client().get("/boom")
        db.session.remove()
        db.drop_all()
    assert response.status_code == 500
    assert_security_headers(response)
    assert "RuntimeError" not in response.get_data(as_text=True)


def test_hsts_only_with_secure_cookies() -> None:
    app = build_app(SESSION_COOKIE_SECURE=True)
    with app.app_context():
        db.create_all()
        response = app.test_client().get("/no-such-page")
        db.session.remove()
        db.drop_all()
    assert response.status_code == 404
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert_security_headers(response)


@pytest.mark.parametrize("secure", [False, True])
def test_session_and_remember_cookie_attributes(secure) -> None:
    from conftest import Auth, make_user

    app = build_app(SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_DAYS=7)
    with app.app_context():
        db.create_all()
        make_user("alice")
        response = Auth(app.test_client()).login(remember_me=True)
        db.session.remove()
        db.drop_all()
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        attributes = cookies[name]
        assert "HttpOnly" in attributes
        assert "SameSite=Lax" in attributes
        assert ("Secure" in attributes) is secure
    expires = re.search(r"Expires=([^;]+)", cookies["remember_token"]).group(1)
    lifetime = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)


@pytest.mark.parametrize("path", ["/console", "/?__debugger__=yes&cmd=resource&f=style.css"])
def test_werkzeug_debugger_is_unreachable(client, path) -> None:
    response = client.get(path)
    # "/" asks anonymous users to log in; the debugger's stylesheet is never served.
    assert response.status_code in (302, 404)
    assert response.mimetype != "text/css"
    body = response.get_data(as_text=True)
    assert "Werkzeug" not in body
    if path == "/console":
        assert response.status_code == 404


def test_oversized_request_gets_413_error_page(client) -> None:
    response = client.post("/login", data={"username": "x" * (1024 * 1024 + 10)})
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True).lower()
    assert_security_headers(response)


# --- Test harness: every request runs in its own app context ---------------------------


def test_a_second_client_does_not_inherit_the_first_clients_user(client, logged_in, app):
    # Flask-Login caches the user in flask.g: a shared app context would leak it.
    other = app.test_client()
    response = other.get("/index")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "Hi, alice!" in client.get("/index").get_data(as_text=True)


# --- Passwords ---------------------------------------------------------------------------


def register_with_password(auth, password: str, username: str = "bob"):
    return auth.register(username, password=password)


def test_the_common_password_list_is_large_and_only_holds_choosable_entries() -> None:
    entries = common_passwords()
    assert len(entries) >= 1000
    assert all(MIN_LENGTH <= len(entry) <= MAX_LENGTH for entry in entries)
    assert {"password", "12345678", "iloveyou"} <= entries


def test_the_common_password_list_is_read_once_and_only_when_needed(client, auth) -> None:
    common_passwords.cache_clear()
    assert client.get("/register").status_code == 200
    assert common_passwords.cache_info().currsize == 0  # not read to show a form
    assert auth.register("bob", password="a fine passphrase").status_code == 302
    assert auth.register("carol", password="another fine one").status_code == 302
    info = common_passwords.cache_info()
    assert (info.misses, info.hits) == (1, 1)


@pytest.mark.parametrize(
    "password", ["password", "PassWord", "12345678", "ILOVEYOU", "qwertyuiop"]
)
def test_register_refuses_a_common_password_in_any_case(client, auth, password) -> None:
    response = register_with_password(auth, password)
    assert response.status_code == 200
    assert "This password is too common" in page_text(response)
    assert db.session.scalar(sa.select(User)) is None


@pytest.mark.parametrize("password", ["", "short", "a" * 7, "x" * 129])
def test_register_refuses_passwords_shorter_than_8_or_longer_than_128(client, auth, password):
    response = register_with_password(auth, password)
    assert response.status_code == 200
    expected = "This field is required." if not password else "Passwords are 8 to 128 characters"
    assert expected in page_text(response)
    assert db.session.scalar(sa.select(User)) is None


@pytest.mark.parametrize(
    "password", ["zq8 vk2m", "        ", "ναι-όχι-ίσως", "x" * 128, "all lowercase no digits"]
)
def test_register_accepts_any_uncommon_password_of_8_to_128_characters(client, auth, password):
    # No composition rules: no demand for digits, capitals or symbols.
    response = register_with_password(auth, password)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(User)).check_password(password)


def test_long_passwords_are_never_truncated(client, auth) -> None:
    password = "p" * 99 + "1"
    assert register_with_password(auth, password).status_code == 302
    near_miss = auth.login("bob", "p" * 99 + "2", follow_redirects=True)
    assert "Invalid username or password" in page_text(near_miss)
    assert auth.login("bob", password).headers["Location"] == "/index"


# --- Usernames: ASCII, one owner regardless of case ------------------------------------------

HOSTILE_USERNAMES = [
    "alice\n",  # "$" in a Python regex also matches before a final newline
    "alice\r\n",
    " alice",
    "alice ",
    "\u0430lice",  # Cyrillic "a": looks exactly like alice
    "\uff41lice",  # fullwidth "a"
    "alice\u200b",  # zero-width space
    "../alice",
    "alice/../x",
    "<b>alice</b>",
]


@pytest.mark.parametrize("username", HOSTILE_USERNAMES)
def test_look_alike_and_hidden_character_usernames_are_refused(client, alice, username):
    response = Auth(client).register(username, email="impostor@example.com")
    assert response.status_code == 200
    assert "Use only letters, digits, dots, dashes and underscores." in page_text(response)
    assert [user.username for user in db.session.scalars(sa.select(User))] == ["alice"]


@pytest.mark.parametrize("username", HOSTILE_USERNAMES[:2])
def test_a_rename_to_a_hidden_character_name_is_refused(client, logged_in, username):
    response = submit(client, "/edit_profile", {"username": username, "about_me": ""})
    assert response.status_code == 200
    db.session.refresh(logged_in)
    assert logged_in.username == "alice"


@pytest.mark.parametrize(
    ("name", "email"), [("ALICE", "other@example.com"), ("bob", "Alice@Example.com")]
)
def test_the_database_itself_refuses_a_second_owner_regardless_of_case(alice, name, email):
    db.session.add(User(username=name, email=email, password_hash="x"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- Login: no hint whether a username exists --------------------------------------------


def count_password_checks(monkeypatch) -> list[str]:
    """Record every hash check the login makes (the costly part of a login)."""
    checked: list[str] = []

    def counting_check(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counting_check)
    return checked


def without_csrf_tokens(page: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', page)


def test_unknown_user_and_wrong_password_get_identical_answers(app, alice, monkeypatch):
    checked = count_password_checks(monkeypatch)
    answers = []
    for username, password in [("alice", "wrong password!"), ("mallory", "wrong password!")]:
        client = app.test_client()
        response = Auth(client).login(username, password, query="next=/user/alice")
        followed = client.get(response.headers["Location"])
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                page_text(response),
                followed.status_code,
                without_csrf_tokens(page_text(followed)),
            )
        )
    assert answers[0] == answers[1]
    assert "Invalid username or password" in answers[0][4]
    # One full password hash each: alice's real one, then the dummy for "mallory".
    assert len(checked) == 2
    assert checked[0] == alice.password_hash
    assert checked[1] == models.dummy_password_hash()
    assert checked[1].split("$")[0] == alice.password_hash.split("$")[0]  # same algorithm


def test_account_without_a_password_cannot_log_in_and_still_costs_a_hash(
    client, auth, alice, monkeypatch
):
    alice.password_hash = None
    db.session.commit()
    checked = count_password_checks(monkeypatch)
    response = auth.login(follow_redirects=True)
    assert "Invalid username or password" in page_text(response)
    assert checked == [models.dummy_password_hash()]


# --- Sessions: cleared on login and on logout ----------------------------------------------


def plant_in_session(client, **values) -> None:
    with client.session_transaction() as planted:
        planted.update(values)


def session_keys(client) -> set[str]:
    with client.session_transaction() as current:
        return set(current)


def test_login_starts_a_fresh_session(client, auth, alice) -> None:
    # What an attacker could have put in the victim's session before login.
    plant_in_session(client, planted="attacker", _user_id="999")
    assert auth.login().headers["Location"] == "/index"
    keys = session_keys(client)
    assert "planted" not in keys
    assert "Hi, alice!" in page_text(client.get("/index"))


def test_logout_clears_the_whole_session_and_the_remember_cookie(client, auth, alice) -> None:
    auth.login(remember_me=True)
    plant_in_session(client, draft="left behind")
    assert client.get_cookie("remember_token") is not None
    auth.logout()
    assert "draft" not in session_keys(client)
    assert "_user_id" not in session_keys(client)
    assert client.get_cookie("remember_token") is None
    assert client.get("/index").headers["Location"].startswith("/login")


# --- Changing the password ends every other session -------------------------------------

NEW_PASSWORD = "a brand new passphrase"


def change_password(client, current: str, new: str, repeat: str | None = None):
    """Fill in the profile editor's "Change password" form, with its own token."""
    page = page_text(client.get("/edit_profile"))
    token = re.search(r'name="password-csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client.post(
        "/change_password",
        data={
            "password-csrf_token": token,
            "password-current_password": current,
            "password-new_password": new,
            "password-new_password2": new if repeat is None else repeat,
        },
    )


def is_logged_in(client) -> bool:
    return client.get("/edit_profile").status_code == 200


def remembered_only(app, auth_name: str = "alice"):
    """A client that was remembered and whose browser session has since ended."""
    client = app.test_client()
    Auth(client).login(auth_name, remember_me=True)
    client.delete_cookie("session")
    assert is_logged_in(client)  # the remember cookie alone signs it in
    return client


def test_profile_editor_offers_a_change_password_form(client, logged_in) -> None:
    page = page_text(client.get("/edit_profile"))
    assert "Change password" in page
    assert 'action="/change_password"' in page
    for field in ("current_password", "new_password", "new_password2"):
        assert f'id="password-{field}"' in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # no id clashes with the profile form's


def test_changing_password_signs_out_other_sessions_and_remember_cookies(app, client, logged_in):
    other_browser = app.test_client()
    Auth(other_browser).login()
    remembered = remembered_only(app)
    old_token = logged_in.session_token

    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/edit_profile"
    assert "Your password has been changed." in page_text(client.get("/edit_profile"))

    assert is_logged_in(client)  # this session goes on
    assert not is_logged_in(other_browser)
    assert not is_logged_in(remembered)
    assert remembered.get("/index").headers["Location"].startswith("/login")
    assert logged_in.session_token != old_token
    assert logged_in.check_password(NEW_PASSWORD)
    assert not logged_in.check_password(PASSWORD)
    fresh = app.test_client()
    assert "Invalid username or password" in page_text(
        Auth(fresh).login(password=PASSWORD, follow_redirects=True)
    )
    assert Auth(fresh).login(password=NEW_PASSWORD).headers["Location"] == "/index"


def test_a_remembered_session_stays_remembered_after_its_own_password_change(app, alice):
    client = remembered_only(app)
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
    client.delete_cookie("session")  # the browser closes again
    assert is_logged_in(client)


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("not my password", NEW_PASSWORD, None, "Your current password is not correct."),
        ("", NEW_PASSWORD, None, "This field is required."),
        (PASSWORD, "password123", None, "This password is too common"),
        (PASSWORD, "short", None, "Passwords are 8 to 128 characters long."),
        (PASSWORD, NEW_PASSWORD, "a different passphrase", "Passwords must match."),
    ],
)
def test_a_refused_password_change_explains_why_and_changes_nothing(
    app, client, logged_in, current, new, repeat, message
) -> None:
    other_browser = app.test_client()
    Auth(other_browser).login()
    before = (logged_in.password_hash, logged_in.session_token)
    response = change_password(client, current, new, repeat)
    assert response.status_code == 200
    assert message in page_text(response)
    assert 'value="alice"' in page_text(response)  # the profile form is still filled in
    db.session.refresh(logged_in)
    assert (logged_in.password_hash, logged_in.session_token) == before
    assert is_logged_in(client)
    assert is_logged_in(other_browser)


def test_a_session_from_before_session_tokens_no_longer_loads_a_user(client, alice) -> None:
    plant_in_session(client, _user_id=str(alice.id), _fresh=True)
    assert not is_logged_in(client)
    plant_in_session(client, _user_id=f"{alice.id}:{'0' * 64}", _fresh=True)
    assert not is_logged_in(client)


def test_migration_0002_gives_every_existing_account_its_own_token(tmp_path) -> None:
    from flask_migrate import downgrade, upgrade

    app = build_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'upgrade.db'}")
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            for name in ("alice", "bob"):
                connection.execute(
                    sa.text(
                        "INSERT INTO user (username, email, password_hash) "
                        "VALUES (:name, :name || '@example.com', 'x')"
                    ),
                    {"name": name},
                )
        upgrade()
        with db.engine.connect() as connection:
            tokens = connection.execute(sa.text("SELECT session_token FROM user")).scalars().all()
            indexes = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")
            ).scalars()
            assert {"uq_user_username_lower", "uq_user_email_lower"} <= set(indexes)
        assert len(tokens) == 2
        assert len(set(tokens)) == 2
        assert all(re.fullmatch(r"[0-9a-f]{64}", token) for token in tokens)
        downgrade(revision="0001")
        with db.engine.connect() as connection:
            columns = connection.execute(sa.text("SELECT name FROM pragma_table_info('user')"))
            assert "session_token" not in set(columns.scalars())


# --- Rate limits on the password forms ------------------------------------------------------


def exhaust(client, path: str, data: dict[str, str], attempts: int = 10, **kwargs) -> None:
    """Spend the allowance: ``attempts`` POSTs that are all answered normally."""
    for _ in range(attempts):
        assert client.post(path, data=data, **kwargs).status_code != 429


def bad_login(client) -> dict[str, str]:
    # An empty password: refused by the form without the cost of a password hash,
    # and counted all the same.
    return {"csrf_token": csrf_token(client), "username": "alice", "password": ""}


def test_the_eleventh_login_attempt_in_a_minute_gets_the_429_page(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data)
    response = client.post("/login", data=data)
    assert response.status_code == 429
    page = page_text(response)
    assert "Too Many Requests" in page
    assert "Too many attempts from your address." in page
    assert 'class="navbar' in page  # the site's layout
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert_security_headers(response)
    # The right password does not get through either until the window ends.
    assert Auth(client).login().status_code == 429


def test_json_clients_get_a_json_429_with_retry_after(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data)
    response = client.post("/login", data=data, headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.get_json()["error"] == "Too Many Requests"
    assert int(response.headers["Retry-After"]) > 0


def test_get_is_never_limited(client, alice) -> None:
    for _ in range(12):
        assert client.get("/login").status_code == 200
        assert client.get("/register").status_code == 200
    data = bad_login(client)
    exhaust(client, "/login", data)  # the GETs took nothing from the allowance
    assert client.post("/login", data=data).status_code == 429
    assert client.get("/login").status_code == 200
    assert client.get("/register").status_code == 200


def test_registration_is_limited(client) -> None:
    token = csrf_token(client, "/register")
    refused = {"csrf_token": token, "username": "x", "email": "x", "password": "p"}
    exhaust(client, "/register", refused)
    response = Auth(client).register("bob")
    assert response.status_code == 429
    assert db.session.scalar(sa.select(User)) is None


def test_password_change_is_limited(client, logged_in) -> None:
    page = page_text(client.get("/edit_profile"))
    token = re.search(r'name="password-csrf_token"[^>]*value="([^"]+)"', page).group(1)
    guess = {"password-csrf_token": token, "password-current_password": "guess"}
    exhaust(client, "/change_password", guess)
    before = logged_in.password_hash
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 429
    db.session.refresh(logged_in)
    assert logged_in.password_hash == before


def test_limits_count_per_client_address(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    blocked = client.post("/login", data=data, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert blocked.status_code == 429
    other = client.post("/login", data=data, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_counts_do_not_leak_between_apps(alice, client) -> None:
    exhaust(client, "/login", bad_login(client))
    assert client.post("/login", data=bad_login(client)).status_code == 429
    other_app = build_app()
    with other_app.app_context():
        db.create_all()
        other = other_app.test_client()
        assert other.post("/login", data=bad_login(other)).status_code == 200
        db.drop_all()


def test_a_forged_x_forwarded_for_does_not_escape_the_limit(client, alice) -> None:
    # No proxy is trusted by default: the header is the client's own invention.
    data = bad_login(client)
    for n in range(10):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert client.post("/login", data=data, headers=forged).status_code != 429
    forged = {"X-Forwarded-For": "198.51.100.99"}
    assert client.post("/login", data=data, headers=forged).status_code == 429


@pytest.mark.parametrize("app_settings", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_proxy_the_address_it_saw_is_limited(client, alice) -> None:
    # The client prepends whatever it likes; the trusted proxy appends the real
    # address, and that is the one counted.
    data = bad_login(client)
    for n in range(10):
        chain = {"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.5"}
        assert client.post("/login", data=data, headers=chain).status_code != 429
    chain = {"X-Forwarded-For": "198.51.100.99, 203.0.113.5"}
    assert client.post("/login", data=data, headers=chain).status_code == 429
    another = {"X-Forwarded-For": "203.0.113.6"}
    assert client.post("/login", data=data, headers=another).status_code == 200


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_AUTH": "2 per minute"}])
def test_the_limit_is_configurable(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data, attempts=2)
    assert client.post("/login", data=data).status_code == 429


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": False}])
def test_limits_can_be_switched_off(client, alice) -> None:
    exhaust(client, "/login", bad_login(client), attempts=15)


def test_rate_limit_settings_come_from_the_environment(monkeypatch) -> None:
    from config import Config

    monkeypatch.setenv("RATELIMIT_AUTH", "5/minute;100/day")
    monkeypatch.setenv("RATELIMIT_ENABLED", "off")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    app = build_app(Config, TESTING=True, SECRET_KEY="x" * 40)
    assert app.config["RATELIMIT_AUTH"] == "5/minute;100/day"
    assert app.config["RATELIMIT_ENABLED"] is False
    assert Config.RATELIMIT_STORAGE_URI == "memory://"


@pytest.mark.parametrize("raw", ["ten per minute", "10 per fortnight", "lots"])
def test_an_unreadable_rate_limit_stops_the_app_from_starting(monkeypatch, raw) -> None:
    from config import Config, ConfigError

    monkeypatch.setenv("RATELIMIT_AUTH", raw)
    with pytest.raises(ConfigError, match="RATELIMIT_AUTH"):
        build_app(Config, TESTING=True, SECRET_KEY="x" * 40)


# --- Input: CSRF on every state-changing request, nothing changes on GET --------------------


def database_state() -> list[tuple]:
    """Everything a request could change, as plain values."""
    users = db.session.execute(
        sa.select(User.id, User.username, User.email, User.password_hash, User.about_me).order_by(
            User.id
        )
    ).all()
    posts = db.session.execute(sa.select(models.Post.id, models.Post.body)).all()
    return [tuple(row) for row in [*users, *posts]]


STATE_CHANGES = {
    "/register": {
        "username": "mallory",
        "email": "mallory@example.com",
        "password": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    },
    "/index": {"body": "posted by a forged form"},
    "/edit_profile": {"username": "renamed", "about_me": "forged"},
    "/change_password": {
        "password-current_password": PASSWORD,
        "password-new_password": NEW_PASSWORD,
        "password-new_password2": NEW_PASSWORD,
    },
    "/logout": {},
    "/login": {"username": "alice", "password": PASSWORD},
}


def foreign_token(app) -> str:
    """A genuine token, but from somebody else's session (what a CSRF attacker has)."""
    return csrf_token(app.test_client())


@pytest.mark.parametrize("token", ["missing", "wrong", "foreign"])
@pytest.mark.parametrize("path", list(STATE_CHANGES))
def test_every_state_changing_post_needs_this_sessions_csrf_token(app, alice, path, token):
    client = app.test_client()
    if path != "/login":
        Auth(client).login()
    data = dict(STATE_CHANGES[path])
    field = "password-csrf_token" if path == "/change_password" else "csrf_token"
    if token == "wrong":
        data[field] = "not-a-token"
    elif token == "foreign":
        data[field] = foreign_token(app)
    before = database_state()
    logged_in_before = is_logged_in(client)

    response = client.post(path, data=data)

    assert response.status_code == 400
    assert "CSRF" in page_text(response)
    assert database_state() == before
    assert is_logged_in(client) == logged_in_before


@pytest.mark.parametrize("path", list(STATE_CHANGES))
def test_get_never_changes_anything(app, alice, path) -> None:
    client = app.test_client()
    if path != "/login":
        Auth(client).login()
    before = database_state()
    response = client.get(
        path,
        query_string={
            "csrf_token": csrf_token(client, "/index" if path != "/login" else "/login"),
            **STATE_CHANGES[path],
        },
    )
    assert response.status_code in (200, 302, 405)
    assert database_state() == before
    assert is_logged_in(client) == (path != "/login")


# --- Input: user text is always escaped -----------------------------------------------------

XSS_PAYLOADS = ["<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>"]


def assert_shown_escaped(page: str, payload: str) -> None:
    assert payload not in page
    assert str(escape(payload)) in page


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_posts_and_about_me_are_escaped(client, logged_in, payload) -> None:
    assert submit(client, "/index", {"body": payload}).status_code == 302
    data = {"username": "alice", "about_me": payload}
    assert submit(client, "/edit_profile", data).status_code == 302
    for path in ("/index", "/user/alice"):
        assert_shown_escaped(page_text(client.get(path)), payload)
    # Redisplayed inside the form field too.
    assert_shown_escaped(page_text(client.get("/edit_profile")), payload)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_a_refused_username_is_redisplayed_escaped(client, logged_in, payload) -> None:
    response = submit(client, "/edit_profile", {"username": payload, "about_me": ""})
    assert response.status_code == 200
    assert "Use only letters, digits, dots, dashes and underscores." in page_text(response)
    assert_shown_escaped(page_text(response), payload)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_hostile_usernames_are_escaped_in_pages_and_titles(client, logged_in, payload) -> None:
    # The form refuses such names; this account bypasses it, as a legacy row or a
    # future bug might, to prove the templates escape names on their own.
    make_user(payload, email="legacy@example.com")
    author = User.by_username(payload)
    db.session.add(models.Post(body="hello", author=author))
    db.session.commit()
    assert_shown_escaped(page_text(client.get("/index")), payload)
    if "/" not in payload:  # a name with "/" has no profile URL to visit
        profile = page_text(client.get("/user/" + quote(payload, safe="")))
        assert_shown_escaped(profile, payload)
        title = re.search(r"<title>(.*?)</title>", profile, re.S).group(1)
        assert title == f"{escape(payload)} - Microblog"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_hostile_urls_are_not_reflected_raw(client, logged_in, payload) -> None:
    response = client.get("/user/" + quote(payload, safe=""))
    assert response.status_code == 404
    assert payload not in page_text(response)
    response = client.get("/login?next=" + quote(payload, safe=""))
    assert payload not in page_text(response)


# --- Input: the next redirect stays on this site ----------------------------------------------

NEXT_PAYLOADS = [
    "//evil.com",
    "////evil.com",
    "///evil.com",
    "https:evil.com",
    "http:/evil.com",
    "http:///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/%09/evil.com",
    "%0D%0A//evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "https://localhost@evil.com",
    "http://evil.com",
]
HONOURED_NEXT = ["/user/bob?tab=posts", "/index#x"]


def lands_on_this_site(location: str) -> bool:
    """Where a forgiving browser (WHATWG URL parsing) would go from this Location."""
    cleaned = re.sub(r"[\t\n\r]", "", location.strip("\x00 ")).replace("\\", "/")
    return urlsplit(urljoin("http://localhost/login", cleaned)).netloc == "localhost"


@pytest.mark.parametrize("encode", [False, True], ids=["raw", "encoded"])
@pytest.mark.parametrize("target", NEXT_PAYLOADS + HONOURED_NEXT)
def test_next_lands_on_this_site_and_never_fails(app, alice, target, encode) -> None:
    if "bob" in target:
        make_user("bob")
    query = "next=" + (quote(target, safe="") if encode else target)
    client = app.test_client()
    assert client.get(f"/login?{query}").status_code == 200
    failed = Auth(client).login(password="wrong password!", query=query)
    assert failed.status_code == 302
    assert lands_on_this_site(failed.headers["Location"])

    response = Auth(client).login(query=query)

    assert response.status_code == 302
    location = response.headers["Location"]
    assert lands_on_this_site(location)
    if target in HONOURED_NEXT and encode:
        assert location == target
        assert client.get(location).status_code == 200
    elif target not in HONOURED_NEXT and not encode:
        assert location == "/index"
    # Encoded once more, "/%09/evil.com" is the harmless path /%09/evil.com here.


# --- Secrets: production refuses weak keys, development works without one --------------------

WEAK_KEYS = {
    "": "SECRET_KEY is not set",
    "dev": "SECRET_KEY is a well-known placeholder",
    "you-will-never-guess": "SECRET_KEY is a well-known placeholder",
    "ChangeMe": "SECRET_KEY is a well-known placeholder",
    " changeme ": "SECRET_KEY is a well-known placeholder",
    "x" * 31: "SECRET_KEY is shorter than 32 characters",
    " " * 40: "SECRET_KEY is not set",
    "\tshort-key-padded-with-blanks\t\t\t\t\t": "SECRET_KEY is shorter than 32 characters",
}


def production_config(monkeypatch, key: str) -> type:
    from config import Config

    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", key)
    return Config


@pytest.mark.parametrize(("key", "reason"), list(WEAK_KEYS.items()))
def test_production_refuses_a_weak_secret_key(monkeypatch, key, reason) -> None:
    from config import ConfigError

    config = production_config(monkeypatch, key)
    with pytest.raises(ConfigError) as refused:
        build_app(config, TESTING=False, DEBUG=False)
    message = str(refused.value)
    assert message.startswith(reason)
    assert 'python -c "import secrets; print(secrets.token_hex())"' in message
    if key.strip():
        assert key.strip() not in message  # the key itself is not echoed to logs


def test_production_accepts_a_generated_key(monkeypatch) -> None:
    config = production_config(monkeypatch, secrets.token_hex())
    app = build_app(config, TESTING=False, DEBUG=False, LOG_TO_STDOUT=True)
    assert len(app.secret_key) == 64


@pytest.mark.parametrize("key", ["", "dev", "x" * 31])
def test_starting_the_site_with_a_weak_key_exits_non_zero(tmp_path, key) -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "SECRET_KEY": key,  # set, even when empty, so that a .env cannot fill it in
        "DATABASE_URL": "sqlite://",
        "LOG_DIR": str(tmp_path),
    }
    finished = subprocess.run(  # noqa: S603 - fixed command, our own interpreter
        [sys.executable, "-c", "import microblog"],
        cwd=Path(__file__).resolve().parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode != 0
    assert f"ConfigError: {WEAK_KEYS[key]}" in finished.stderr


def test_debug_mode_works_without_a_key_and_says_so(monkeypatch, caplog) -> None:
    config = production_config(monkeypatch, "")
    with caplog.at_level(logging.WARNING):
        app = build_app(config, DEBUG=True, TESTING=False)
    assert len(app.secret_key) == 64
    assert "SECRET_KEY is not set: using a random key for this process" in caplog.text
    other = build_app(config, DEBUG=True, TESTING=False)
    assert other.secret_key != app.secret_key  # generated, never a fixed default


def test_debug_mode_warns_about_a_placeholder_key(monkeypatch, caplog) -> None:
    config = production_config(monkeypatch, "dev")
    with caplog.at_level(logging.WARNING):
        app = build_app(config, DEBUG=True, TESTING=False)
    assert app.secret_key == "dev"
    assert "SECRET_KEY is a well-known placeholder: acceptable in debug mode only" in caplog.text


# --- Input: NUL characters (PostgreSQL cannot store them) ---------------------------------------


NUL_INPUTS = [
    ("/login", {"username": "al\x00ice", "password": PASSWORD}),
    ("/register", {"username": "b\x00ob", "email": "bob@example.com", "password": "x"}),
    ("/index", {"body": "hello\x00world"}),
    ("/edit_profile", {"username": "alice", "about_me": "\x00"}),
    ("/user/al%00ice", None),
    ("/index?page=1%00", None),
]


@pytest.mark.parametrize(("path", "fields"), NUL_INPUTS)
def test_nul_characters_are_a_bad_request_not_a_crash(app, alice, path, fields):
    client = app.test_client()
    if path not in ("/login", "/register"):
        Auth(client).login()
    before = database_state()
    response = client.get(path) if fields is None else submit(client, path, fields)
    assert response.status_code == 400
    assert "NUL character" in page_text(response)
    assert database_state() == before
