"""search on PostgreSQL: a stored tsvector column under the GIN index

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:30:00.000000

Written by hand, like 0007 (the column and its index live beside the models, in
app/search/index.py, whose statements these are, as they were at this revision).
PostgreSQL only: ranking read the text again for every candidate, and the
expression index gave the planner no cheap way to filter the newest posts; the
stored column serves both. Adding it rewrites the post table (every post's vector
is computed once), so it takes a while on a large site. SQLite is unchanged.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE post ADD COLUMN search_vector tsvector"
    " GENERATED ALWAYS AS (to_tsvector('english', body)) STORED",
    "CREATE INDEX ix_post_search_vector ON post USING gin (search_vector)"
    " WHERE deleted_at IS NULL",
    "DROP INDEX ix_post_body_search",
]
DOWNGRADE = [
    "CREATE INDEX ix_post_body_search ON post USING gin (to_tsvector('english', body))"
    " WHERE deleted_at IS NULL",
    "DROP INDEX ix_post_search_vector",
    "ALTER TABLE post DROP COLUMN search_vector",
]


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in DOWNGRADE:
            op.execute(statement)
