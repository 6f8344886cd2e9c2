"""What a test sees of the SQL the app sends: every statement, as it goes to the database."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.extensions import db


@contextmanager
def recording(keep: Callable[[str, Any], None]) -> Iterator[None]:
    """Hand every statement the current app's engine sends, with its parameters, to ``keep``."""

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        keep(statement, parameters)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


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
