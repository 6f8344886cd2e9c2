"""search index of posts: FTS5 with triggers on SQLite, a GIN index on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:45:00.000000

Written by hand (autogenerate does not see them: they live beside the models,
in app/search/index.py, whose statements these are, as they were at this
revision). SQLite builds the index of existing posts with FTS5's 'rebuild';
PostgreSQL's CREATE INDEX reads every post.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE post_search USING fts5(body, content='post', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER post_search_insert AFTER INSERT ON post WHEN new.deleted_at IS NULL BEGIN"
    " INSERT INTO post_search (rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER post_search_delete AFTER DELETE ON post WHEN old.deleted_at IS NULL BEGIN"
    " INSERT INTO post_search (post_search, rowid, body) VALUES ('delete', old.id, old.body);"
    " END",
    "CREATE TRIGGER post_search_update AFTER UPDATE OF body, deleted_at ON post BEGIN"
    " INSERT INTO post_search (post_search, rowid, body)"
    " SELECT 'delete', old.id, old.body WHERE old.deleted_at IS NULL;"
    " INSERT INTO post_search (rowid, body) SELECT new.id, new.body"
    " WHERE new.deleted_at IS NULL; END",
    "INSERT INTO post_search (post_search) VALUES ('rebuild')",
]
POSTGRESQL = [
    "CREATE INDEX ix_post_body_search ON post USING gin (to_tsvector('english', body))"
    " WHERE deleted_at IS NULL",
]


def upgrade():
    for statement in SQLITE if op.get_bind().dialect.name == 'sqlite' else POSTGRESQL:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('post_search_insert', 'post_search_delete', 'post_search_update'):
            op.execute(f'DROP TRIGGER {trigger}')
        op.execute('DROP TABLE post_search')
    else:
        op.execute('DROP INDEX ix_post_body_search')
