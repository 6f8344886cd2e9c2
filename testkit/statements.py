"""What a test sees of the SQL the app sends: every statement, as it goes to the database."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import current_app
from sqlalchemy import Engine, event

from app.extensions import db


@contextmanager
def recording(
    keep: Callable[[str, Any], None], engines_seen: set[Engine] | None = None
) -> Iterator[None]:
    """Hand every statement the current app's engines send (or ``engines_seen``'s), with
    its parameters, to ``keep``; and the unread counts poll's on PostgreSQL, which
    psycopg sends itself, past the engines' events (app.notifications.poll)."""

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        keep(statement, parameters)

    # SQLAlchemy sends on cursors; only the poll's held connections use psycopg's
    # Connection.execute.
    execute_on_connection = psycopg.Connection.execute

    def execute(connection, query, params=None, **options):
        keep(query, params)
        return execute_on_connection(connection, query, params, **options)

    seen = engines() if engines_seen is None else engines_seen
    for engine in seen:
        event.listen(engine, "before_cursor_execute", record)
    psycopg.Connection.execute = execute
    try:
        yield
    finally:
        psycopg.Connection.execute = execute_on_connection
        for engine in seen:
            event.remove(engine, "before_cursor_execute", record)


def engines() -> set[Engine]:
    """The current app's engines: the app's own and the unread counts poll's (the
    app's too, app.notifications.poll)."""
    poll = current_app.extensions.get("unread_counts_poll")
    return {db.engine, *([poll.engine] if poll is not None else [])}


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """Record every statement the current app's engine sends to the database meanwhile."""
    statements: list[str] = []
    with recording(lambda statement, parameters: statements.append(statement)):
        yield statements


@contextmanager
def executed() -> Iterator[list[tuple[str, Any]]]:
    """Record every statement the current app's engine sends meanwhile, with its parameters."""
    pairs: list[tuple[str, Any]] = []
    with recording(lambda statement, parameters: pairs.append((statement, parameters))):
        yield pairs


def starts_with(statement: str, prefix: str) -> bool:
    """Compare SQL the same way on every backend (PostgreSQL quotes "user")."""
    return statement.replace('"', "").lstrip().upper().startswith(prefix)
