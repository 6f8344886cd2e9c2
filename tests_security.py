"""Hostile tests for the security hardening (issue 4)."""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.security import check_password_hash

from app import db, models
from app.models import User
from app.passwords import MAX_LENGTH, MIN_LENGTH, common_passwords
from app.security_headers import CONTENT_SECURITY_POLICY, HSTS
from conftest import Auth, build_app

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
