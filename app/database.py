"""Database wiring that does not belong to any one model."""

import sqlite3
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator

from app.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 5000


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Which constraint an IntegrityError broke, by the code each driver gives:
# PostgreSQL's SQLSTATE, SQLite's extended result code (Python 3.11+).
PG_UNIQUE_VIOLATION = "23505"
PG_FOREIGN_KEY_VIOLATION = "23503"
SQLITE_UNIQUE_VIOLATION = "SQLITE_CONSTRAINT_UNIQUE"
SQLITE_FOREIGN_KEY_VIOLATION = "SQLITE_CONSTRAINT_FOREIGNKEY"


def _violates(error: IntegrityError, sqlstate: str, sqlite_name: str) -> bool:
    cause = error.orig
    return (
        getattr(cause, "sqlstate", None) == sqlstate
        or getattr(cause, "sqlite_errorname", None) == sqlite_name
    )


def is_unique_violation(error: IntegrityError) -> bool:
    return _violates(error, PG_UNIQUE_VIOLATION, SQLITE_UNIQUE_VIOLATION)


def is_foreign_key_violation(error: IntegrityError) -> bool:
    return _violates(error, PG_FOREIGN_KEY_VIOLATION, SQLITE_FOREIGN_KEY_VIOLATION)


def _configure_sqlite_connection(
    dbapi_connection: sqlite3.Connection, connection_record: object
) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers proceed while one writer commits; the busy timeout makes a
    # second writer wait for the lock instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: the database
    # stays consistent through crashes and power cuts; a power cut (not an app
    # crash) may lose the last commits. An fsync on every new post is what it
    # saves (docs/performance.md).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _configure_sqlite_connection)
