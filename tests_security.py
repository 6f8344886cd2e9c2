"""Hostile tests for the security hardening (issue 4)."""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask

from app import db
from app.security_headers import CONTENT_SECURITY_POLICY, HSTS
from conftest import build_app

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


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
