"""Shared pytest fixtures: a fresh application and database for every test."""

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app, db
from app.models import User
from config import Config, parse_database_url
from local_services.postgres import (
    PostgresUnavailable,
    create_database,
    drop_database,
    private_postgres,
)

CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "a-test-only-secret-key-that-is-long-enough"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    POSTS_PER_PAGE = 3
    # Pin everything the environment could otherwise change under the tests.
    MAIL_SERVER = None
    ADMINS: list[str] = []
    # Rate limits stay on, as in production; each app counts on its own.
    RATELIMIT_ENABLED = True
    RATELIMIT_AUTH = "10 per minute"
    RATELIMIT_STORAGE_URI = "memory://"


class IsolatedRequestClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Flask reuses an app context that the test has pushed (the ``app`` fixture
    does), so ``flask.g`` and the database session would otherwise be shared
    between requests: Flask-Login caches the user in ``g``, and a second client
    would see the first client's user. Each request here runs in a fresh app
    context (fresh ``g``, its own database session); afterwards the test's own
    session forgets what it loaded, so the test reads what the request wrote.
    """

    def open(self, *args, **kwargs) -> TestResponse:
        if self.preserve_context:  # ``with client:`` keeps the request's context
            return super().open(*args, **kwargs)
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context() and db.session.registry.has():
            db.session.expire_all()
        return response


def build_app(config_class: type = TestConfig, **settings: object) -> Flask:
    config = type("Config", (config_class,), settings)
    app = create_app(config)
    app.test_client_class = IsolatedRequestClient
    return app


@pytest.fixture
def app_settings() -> dict[str, object]:
    """Override in a test module (or parametrize) to change the app's config."""
    return {}


@pytest.fixture
def app(app_settings: dict[str, object], database: "TestDatabase") -> Iterator[Flask]:
    app = build_app(**{"SQLALCHEMY_DATABASE_URI": database.url(), **app_settings})
    with app.app_context():
        database.reset()
        yield app
        database.release()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Read the CSRF token from a page, as a browser's form would carry it."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def submit(client: FlaskClient, path: str, data: dict[str, object], **kwargs) -> TestResponse:
    """POST a form the way a browser does: with the token from the page."""
    form_page = kwargs.pop("form_page", path.split("?")[0])
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data}, **kwargs)


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(
        self, username: str = "alice", email: str | None = None, password: str = PASSWORD
    ) -> TestResponse:
        return submit(
            self.client,
            "/register",
            {
                "username": username,
                "email": email or f"{username}@example.com",
                "password": password,
                "password2": password,
            },
        )

    def login(
        self,
        username: str = "alice",
        password: str = PASSWORD,
        query: str = "",
        remember_me: bool = False,
        **kwargs,
    ) -> TestResponse:
        """Log in; ``query`` is sent as the raw query string, e.g. ``next=/index``."""
        path = f"/login?{query}" if query else "/login"
        data = {"username": username, "password": password}
        if remember_me:
            data["remember_me"] = "y"
        return submit(self.client, path, data, form_page="/login", **kwargs)

    def logout(self) -> TestResponse:
        return submit(self.client, "/logout", {}, form_page="/index")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


def make_user(username: str, email: str | None = None, password: str = PASSWORD) -> User:
    user = User(username=username, email=email or f"{username.lower()}@example.com")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def alice(app: Flask) -> User:
    return make_user("alice")


@pytest.fixture
def logged_in(alice: User, auth: Auth) -> User:
    auth.login()
    return alice


# --- Databases: the tests that use `app` (or `database`) run on SQLite and PostgreSQL ---
#
# PostgreSQL comes from TEST_DATABASE_URL (a server where the tests may create and
# drop databases) or from a private server started for the session; without
# either the PostgreSQL runs are skipped with the reason, except in CI
# (CI=true), where that is a failure.


class TestDatabase:
    """How one backend gives each test an empty schema."""

    __test__ = False  # a helper, not a class of tests
    name = ""

    def url(self, tmp_path: Path | None = None) -> str:
        raise NotImplementedError

    def reset(self) -> None:
        """Empty tables for the current app (inside its app context)."""
        raise NotImplementedError

    def release(self) -> None:
        """Close the current app's connections (inside its app context)."""
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


class SQLiteDatabase(TestDatabase):
    """A new in-memory database per test, or a file for tests that need threads."""

    name = "sqlite"

    def url(self, tmp_path: Path | None = None) -> str:
        return f"sqlite:///{tmp_path / 'test.db'}" if tmp_path else "sqlite://"

    def reset(self) -> None:
        db.create_all()

    def release(self) -> None:
        db.session.remove()
        db.drop_all()
        super().release()


class PostgresDatabase(TestDatabase):
    """One database per session: tables made once, truncated before each test."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        self._url = parse_database_url("TEST_DATABASE_URL", url)
        self._schema_made = False

    def url(self, tmp_path: Path | None = None) -> str:
        return self._url

    def reset(self) -> None:
        if not self._schema_made:
            db.create_all()
            self._schema_made = True
        tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


def libpq_url(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL in the spelling psycopg.connect() takes."""
    return url.strip().replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server URL (libpq spelling) where tests may create databases."""
    given = libpq_url(os.environ.get("TEST_DATABASE_URL", ""))
    if given:
        yield given
        return
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(private_postgres())
        except PostgresUnavailable as reason:
            message = f"no PostgreSQL for the tests (set TEST_DATABASE_URL): {reason}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        yield url


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """An empty database of this session (and process) on the PostgreSQL server."""
    name = f"microblog_test_{os.getpid()}"
    yield create_database(postgres_server_url, name)
    drop_database(postgres_server_url, name)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> TestDatabase:
    if request.param == "sqlite":
        return SQLiteDatabase()
    return PostgresDatabase(request.getfixturevalue("postgres_database_url"))
