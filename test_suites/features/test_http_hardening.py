"""HTTP hardening: security headers, cookies, CSRF, no debugger, NUL characters, body size."""

import io
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post, User, followers
from app.security.headers import HSTS
from testkit.clients import (
    NEW_PASSWORD,
    PASSWORD,
    Auth,
    assert_security_headers,
    csrf_token,
    is_logged_in,
    make_user,
    page_text,
    submit,
)

# --- Security headers and cookies ------------------------------------------------------


def test_every_response_carries_the_documented_headers(client) -> None:
    # Spelled out here once: the other tests compare against the app's own table.
    response = client.get("/login")
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' data: https://www.gravatar.com; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/login", 200), ("GET", "/no-such-page", 404), ("DELETE", "/login", 405)],
)
def test_security_headers_on_pages_and_error_pages(client, method, path, status) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert_security_headers(response)
    assert "Strict-Transport-Security" not in response.headers


def test_security_headers_on_500_from_failing_route(make_app) -> None:
    response = make_app().test_client().get("/crash/")
    assert response.status_code == 500
    assert_security_headers(response)
    assert "DeliberateFailure" not in response.get_data(as_text=True)


def test_hsts_only_with_secure_cookies(make_app) -> None:
    response = make_app(SESSION_COOKIE_SECURE=True).test_client().get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert_security_headers(response)


@pytest.mark.parametrize("secure", [False, True])
def test_session_and_remember_cookie_attributes(make_app, secure) -> None:
    app = make_app(SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_DAYS=7)
    with app.app_context():
        make_user("alice")
    response = Auth(app.test_client()).login(remember_me=True)
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        attributes = cookies[name]
        assert "HttpOnly" in attributes
        assert "SameSite=Lax" in attributes
        assert ("Secure" in attributes) is secure
    expires = re.search(r"Expires=([^;]+)", cookies["remember_token"]).group(1)
    lifetime = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)


# --- No debugger, no huge bodies -------------------------------------------------------


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


def test_an_oversized_body_gets_the_413_page_over_the_default_or_a_set_limit(
    client, make_app
) -> None:
    over_the_default = client.post("/login", data={"username": "x" * (1024 * 1024 + 10)})
    small_limit = make_app(MAX_CONTENT_LENGTH=1024).test_client()
    over_a_set_limit = small_limit.post("/login", data={"username": "x" * 4096})
    for response in (over_the_default, over_a_set_limit):
        assert response.status_code == 413
        page = page_text(response)
        assert "<html" in page.lower()
        assert "Too much at once" in page
        assert "larger than this site accepts" in page
        assert_security_headers(response)


# --- CSRF on every state-changing request, nothing changes on GET ---------------------------


def database_state() -> list[tuple]:
    """Everything a request could change, as plain values."""
    users = db.session.execute(
        sa.select(User.id, User.username, User.email, User.password_hash, User.about_me).order_by(
            User.id
        )
    ).all()
    posts = db.session.execute(sa.select(Post.id, Post.body)).all()
    follows = db.session.execute(
        sa.select(followers.c.follower_id, followers.c.followed_id).order_by(
            followers.c.follower_id, followers.c.followed_id
        )
    ).all()
    return [tuple(row) for row in [*users, *posts, ("follows",), *follows]]


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
    "/follow/bob": {},
    "/unfollow/bob": {},
}


def prepare(path: str) -> None:
    """Give ``path`` something to change: bob to follow, or to unfollow."""
    if path in ("/follow/bob", "/unfollow/bob"):
        alice = User.by_username("alice")
        bob = make_user("bob")
        if path == "/unfollow/bob":
            alice.follow(bob)
            db.session.commit()


def foreign_token(app) -> str:
    """A genuine token, but from somebody else's session (what a CSRF attacker has)."""
    return csrf_token(app.test_client())


@pytest.mark.parametrize("token", ["missing", "wrong", "foreign"])
@pytest.mark.parametrize("path", list(STATE_CHANGES))
def test_every_state_changing_post_needs_this_sessions_csrf_token(app, alice, path, token):
    prepare(path)
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
    prepare(path)
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
    if "follow/" in path:
        assert response.status_code == 405
    assert database_state() == before
    assert is_logged_in(client) == (path != "/login")


# --- NUL characters (PostgreSQL cannot store them) ---------------------------------------------


NUL_INPUTS = [
    ("/login", {"username": "al\x00ice", "password": PASSWORD}),
    ("/register", {"username": "b\x00ob", "email": "bob@example.com", "password": "x"}),
    ("/index", {"body": "hello\x00world"}),
    ("/edit_profile", {"username": "alice", "about_me": "\x00"}),
    ("/user/al%00ice", None),
    ("/index?page=1%00", None),
    ("/explore?page=1%00", None),
    ("/user/al%00ice/followers", None),
    ("/user/alice/following?page=%00", None),
    ("/follow/b%00ob", {}),
    ("/unfollow/bob", {"x": "\x00"}),
]


@pytest.mark.parametrize(("path", "fields"), NUL_INPUTS)
@pytest.mark.both_databases
def test_nul_characters_are_a_bad_request_not_a_crash(app, alice, path, fields):
    client = app.test_client()
    if path not in ("/login", "/register"):
        Auth(client).login()
    before = database_state()
    if fields is None:
        response = client.get(path)
    else:  # the follow buttons' form is on a profile
        form_page = "/user/alice" if "follow/" in path else path
        response = submit(client, path, fields, form_page=form_page)
    assert response.status_code == 400
    assert "NUL character" in page_text(response)
    assert database_state() == before


@pytest.mark.both_databases
def test_a_nul_character_sent_as_json_is_refused_too(client, logged_in) -> None:
    token = csrf_token(client, "/index")
    response = client.post(
        "/index", json={"body": "hello\x00world"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 400
    assert "NUL character" in page_text(response)
    assert db.session.scalar(sa.select(Post)) is None


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.both_databases
def test_a_nul_character_in_a_body_without_query_string_or_length_is_refused(
    client, logged_in, method
) -> None:
    """The check skips only requests with neither a query string nor a body: a body
    sent chunked (no Content-Length) or with a GET is still read and checked."""
    body = f"csrf_token={csrf_token(client, '/index')}&body=hello%00world".encode()
    chunked = client.open(
        "/index",
        method=method,
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    with_length = client.open(
        "/index", method=method, data=body, content_type="application/x-www-form-urlencoded"
    )
    assert chunked.status_code == with_length.status_code == 400
    assert "NUL character" in page_text(chunked)
    assert db.session.scalar(sa.select(Post)) is None


# --- Bodies over MAX_CONTENT_LENGTH, however they are sent -------------------------------


def post_without_length(client, path: str, body: bytes, **kwargs):
    """A body with no Content-Length, as a chunked request reaches the app from gunicorn."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
        **kwargs,
    )


@pytest.mark.parametrize("app_settings", [{"MAX_CONTENT_LENGTH": 1000}])
@pytest.mark.parametrize("size", [1001, 1024, 5000])
def test_a_body_without_content_length_over_the_limit_is_refused_not_cut(
    client, logged_in, size
) -> None:
    form = f"csrf_token={csrf_token(client, '/index')}&body=cut+short&pad=".encode()
    response = post_without_length(client, "/index", form + b"x" * (size - len(form)))
    assert response.status_code == 413
    assert db.session.scalar(sa.select(Post)) is None


@pytest.mark.parametrize("app_settings", [{"MAX_CONTENT_LENGTH": 1000}])
def test_a_body_without_content_length_within_the_limit_is_read_whole(client, logged_in):
    form = f"csrf_token={csrf_token(client, '/index')}&body=whole&pad=".encode()
    response = post_without_length(client, "/index", form + b"x" * (1000 - len(form)))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Post.body)) == "whole"
