"""The pytest fixtures of every suite (loaded with ``-p testkit.plugin`` in pyproject.toml).

``app``, ``client``, ``auth``, ``alice`` and ``logged_in`` give each test a fresh
app and database, as the Flask tutorial's fixtures do; ``database`` is SQLite, and
for the tests marked ``both_databases`` SQLite and PostgreSQL, one run each (see
``pytest_generate_tests``). ``make_app`` builds apps as production runs them,
``file_app`` one whose database many threads can reach, ``smtp`` a mail server,
``sentry`` a local Sentry stand-in, ``jobs_app`` an app whose background jobs run
(exports, account deletions).

PostgreSQL comes from TEST_DATABASE_URL (a server where the tests may create and
drop databases) or from a private server started for the session; without
either the PostgreSQL runs are skipped with the reason, except in CI
(CI=true), where that is a failure.

Nothing from app/ is imported at the top of this module: ``-p testkit.plugin``
loads it before pytest-cov starts measuring, and whatever app/ ran then (its
imports, class and function definitions) would count as never run. The
fixtures import the helpers that build apps when they first run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testkit.services.postgres import (
    PostgresUnavailable,
    create_database,
    drop_database,
    libpq_url,
    private_postgres,
)
from testkit.services.processes import unavailable
from testkit.services.sentry_receiver import SentryReceiver, sentry_receiver
from testkit.services.smtp import SmtpSink, smtp_sink

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from app.models import User
    from testkit.clients import Auth
    from testkit.databases import TestDatabase


BOTH_DATABASES = "both_databases"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto``: one more than the CPU cores.

    Much of the suite waits rather than computes (servers starting, Chromium drawing,
    processes killed and restarted): on a 2-core machine two workers left the cores
    idle about two fifths of the time, a third keeps them busy.
    """
    return (os.cpu_count() or 1) + 1


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test marked ``both_databases`` once per backend; any other test on SQLite.

    The mark belongs on the tests whose outcome the database decides (its statements,
    constraints, unique indexes, transactions, races, migrations, types and query
    counts): PostgreSQL runs cost a server and a truncation per test, and a form rule
    or a page's markup reads the same on either backend.
    """
    if metafunc.definition.get_closest_marker(BOTH_DATABASES) is None:
        return
    if "database" not in metafunc.fixturenames:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid} is marked {BOTH_DATABASES} but uses no database "
            "(no app, client, file_app or database fixture)"
        )
    metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that run on PostgreSQL, so that ``-m "not postgresql"`` leaves them."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database") == "postgresql"
        uses_server = {"postgres_server_url", "postgres_database_url"} & set(item.fixturenames)
        if on_postgres or uses_server:
            item.add_marker(pytest.mark.postgresql)


# --- Databases ----------------------------------------------------------------------------


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
            unavailable(f"no PostgreSQL for the tests (set TEST_DATABASE_URL): {reason}")
        yield url


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """An empty database of this session (and process) on the PostgreSQL server."""
    name = f"microblog_test_{os.getpid()}"
    yield create_database(postgres_server_url, name)
    drop_database(postgres_server_url, name)


@pytest.fixture(scope="session")
def database(request: pytest.FixtureRequest) -> TestDatabase:
    """SQLite; PostgreSQL too for the tests marked ``both_databases``."""
    from testkit.databases import PostgresDatabase, SQLiteDatabase

    if getattr(request, "param", "sqlite") == "sqlite":
        return SQLiteDatabase()
    return PostgresDatabase(request.getfixturevalue("postgres_database_url"))


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, database: TestDatabase, tmp_path: Path):
    """A database with no tables at all, on the backend of the ``database`` run (migrations)."""
    from config import parse_database_url

    if database.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    name = f"microblog_migration_{os.getpid()}_{tmp_path.name}"[:63].lower().replace("-", "_")
    yield parse_database_url("DATABASE_URL", create_database(server, name))
    drop_database(server, name)


# --- The app under test, as the tutorial's fixtures give it ------------------------------------


@pytest.fixture
def app_settings() -> dict[str, object]:
    """Override in a test module (or parametrize) to change the app's config."""
    return {}


@pytest.fixture
def app(app_settings: dict[str, object], database: TestDatabase) -> Iterator[Flask]:
    from testkit.apps import build_app

    app = build_app(**{"SQLALCHEMY_DATABASE_URI": database.url(), **app_settings})
    with app.app_context():
        database.reset()
        yield app
        database.release()
    app.extensions["jobs"].stop()
    # With MAIL_SERVER among the settings: what is queued is sent (or fails) now, while
    # the test's mail server (set up before the app) still runs.
    sender = app.extensions.get("mail_sender")
    if sender is not None:
        sender.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    from testkit.clients import Auth

    return Auth(client)


@pytest.fixture
def alice(app: Flask) -> User:
    from testkit.clients import make_user

    return make_user("alice")


@pytest.fixture
def logged_in(alice: User, auth: Auth) -> User:
    auth.login()
    return alice


@pytest.fixture
def file_app(tmp_path: Path, database: TestDatabase) -> Iterator[Flask]:
    """An app whose database many threads can reach at once (a file for SQLite)."""
    from testkit.apps import build_app

    app = build_app(SQLALCHEMY_DATABASE_URI=database.url(tmp_path))
    with app.app_context():
        database.reset()
    yield app
    app.extensions["jobs"].stop()
    with app.app_context():
        database.release()


# --- Apps as production runs them, and the servers that receive their reports --------------------


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A local SMTP server that keeps every message (``smtp.inbox``)."""
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def sentry() -> Iterator[SentryReceiver]:
    """A local Sentry stand-in that keeps every envelope (``sentry.dsn``, ``sentry.events``)."""
    with sentry_receiver() as receiver:
        yield receiver


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps as production runs them: see ``testkit.apps.ProductionLikeApps``."""
    from testkit.apps import ProductionLikeApps

    apps = ProductionLikeApps(tmp_path / "logs")
    yield apps
    apps.close()


@pytest.fixture
def job_settings() -> dict[str, object]:
    """Override in a test module (or parametrize) to change ``jobs_app``'s config."""
    return {}


@pytest.fixture
def jobs_app(
    smtp: SmtpSink,
    make_app: Callable[..., Flask],
    database: TestDatabase,
    tmp_path: Path,
    job_settings: dict[str, object],
) -> Flask:
    """An app as production runs it whose jobs run in its thread (JOBS_QUEUE=thread).

    Its database is a file for SQLite (the jobs' thread has a connection of its
    own), its exports go to ``tmp_path``, and its mail (the person's and the error
    reports) to ``smtp``. Links in its emails point at https://blog.example.com.
    """
    app = make_app(
        mail_port=smtp.port,
        SQLALCHEMY_DATABASE_URI=database.url(tmp_path),
        EXPORT_DIR=str(tmp_path / "exports"),
        SITE_URL="https://blog.example.com",
        JOBS_QUEUE_URL="thread",
        **job_settings,
    )
    with app.app_context():
        database.reset()
    return app
