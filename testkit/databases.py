"""How each database backend gives a test an empty schema.

The ``database`` fixture (testkit.plugin) gives every test a new in-memory SQLite
database, and the tests marked ``both_databases`` also one PostgreSQL database per
session whose tables are truncated before each test.
"""

from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from config import parse_database_url
from testkit.statements import engines


def close_connections() -> None:
    """Close the current app's connections (inside its app context)."""
    db.session.remove()
    for engine in {*db.engines.values(), *engines()}:
        engine.dispose()


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
        close_connections()


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
