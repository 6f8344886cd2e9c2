"""post indexes that serve pages in order: (timestamp, id), (user_id, timestamp, id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:20:00.000000

Pages are ordered by timestamp DESC, id DESC. PostgreSQL could use the old
indexes only for the first key and sorted every matching row (all 10,000 of a
prolific user's posts for each of their pages); with id in the index a page is an
index-only scan. SQLite already kept the row id in each index: same plan, new name.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_post_timestamp_id', 'post', ['timestamp', 'id'], unique=False)
    op.create_index(
        'ix_post_user_id_timestamp_id', 'post', ['user_id', 'timestamp', 'id'], unique=False
    )
    op.drop_index('ix_post_user_id_timestamp', table_name='post')
    op.drop_index('ix_post_timestamp', table_name='post')


def downgrade():
    op.create_index('ix_post_timestamp', 'post', ['timestamp'], unique=False)
    op.create_index('ix_post_user_id_timestamp', 'post', ['user_id', 'timestamp'], unique=False)
    op.drop_index('ix_post_user_id_timestamp_id', table_name='post')
    op.drop_index('ix_post_timestamp_id', table_name='post')
