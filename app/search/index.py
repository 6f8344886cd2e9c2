"""The search index of posts, kept in step with the posts by the database itself.

SQLite: an FTS5 table over post.body ("external content": the text is kept once,
in post), changed by triggers on post, so every insert, edit and deletion changes
the index in its own transaction: a result is never a deleted post or an old
text. PostgreSQL: a generated column, the body's tsvector, that the database
computes itself on every write, under a GIN index: nothing to keep in step. The
column is stored, not an expression index, so that ranking reads the vector instead
of parsing the text again, and so that the planner can filter the newest posts by
it cheaply (app.search.queries).

Databases made by migrations get them from migrations 0007 and 0008; databases made from
the models (``db.create_all``, the tests) get them right after the post table.
"""

import click
from flask import Flask
from sqlalchemy import Connection, event

from app.extensions import db
from app.models import Post

# Both backends stem English words ("posting" finds "posts") and ignore case:
# PostgreSQL's text search configuration 'english', SQLite's porter tokenizer.

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE post_search USING fts5(body, content='post', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER post_search_insert AFTER INSERT ON post WHEN new.deleted_at IS NULL BEGIN"
    " INSERT INTO post_search (rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER post_search_delete AFTER DELETE ON post WHEN old.deleted_at IS NULL BEGIN"
    " INSERT INTO post_search (post_search, rowid, body) VALUES ('delete', old.id, old.body);"
    " END",
    # An edit or a deletion: the old text leaves the index, the new one (if any) enters.
    "CREATE TRIGGER post_search_update AFTER UPDATE OF body, deleted_at ON post BEGIN"
    " INSERT INTO post_search (post_search, rowid, body)"
    " SELECT 'delete', old.id, old.body WHERE old.deleted_at IS NULL;"
    " INSERT INTO post_search (rowid, body) SELECT new.id, new.body"
    " WHERE new.deleted_at IS NULL; END",
]
POSTGRESQL_INDEX = [
    "ALTER TABLE post ADD COLUMN search_vector tsvector"
    " GENERATED ALWAYS AS (to_tsvector('english', body)) STORED",
    "CREATE INDEX ix_post_search_vector ON post USING gin (search_vector)"
    " WHERE deleted_at IS NULL",
]
INDEX_BY_DIALECT = {"sqlite": SQLITE_INDEX, "postgresql": POSTGRESQL_INDEX}
REBUILD_BY_DIALECT = {
    "sqlite": "INSERT INTO post_search (post_search) VALUES ('rebuild')",
    "postgresql": "REINDEX INDEX ix_post_search_vector",
}
# What Alembic's comparison of the models with the database leaves aside: the
# index lives beside the models, not in them.
NAMES = ("post_search", "ix_post_search_vector", "search_vector")


def create_index(connection: Connection) -> None:
    for statement in INDEX_BY_DIALECT[connection.dialect.name]:
        connection.exec_driver_sql(statement)


def rebuild_index(connection: Connection) -> None:
    """Build the index again from every post (``flask search rebuild``)."""
    connection.exec_driver_sql(REBUILD_BY_DIALECT[connection.dialect.name])


def is_search_index(name: str | None) -> bool:
    return name is not None and name.startswith(NAMES)


@event.listens_for(Post.__table__, "after_create")
def index_new_post_table(target: object, connection: Connection, **kw: object) -> None:
    create_index(connection)


def init_app(app: Flask) -> None:
    @app.cli.group()
    def search() -> None:
        """The search index of posts."""

    @search.command()
    def rebuild() -> None:
        """Build the search index again from every post."""
        with db.engine.begin() as connection:
            rebuild_index(connection)
        click.echo("The search index was rebuilt from every post.")
