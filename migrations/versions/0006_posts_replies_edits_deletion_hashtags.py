"""posts: replies, edits, deletion, hashtags

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:43:56.870407

A post may answer another (reply_to_id), records its last edit (edited_at) and
its version (raised by every change: app.models.Post.edit), and is deleted by
clearing its text and setting deleted_at: the row stays for its replies. The
lists read live posts only, so their two indexes become partial (deleted_at IS
NULL), and a third serves a post's replies. post_tag lists the hashtags of live
posts, with the post's time, so a tag's page is read from its own index.

Existing posts are filled in: version 1, no reply, and their hashtags, found by
the same code the site uses (app.post_text.hashtags_in).
"""
from alembic import op
import sqlalchemy as sa

from app.post_text import hashtags_in


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

LIVE = sa.text('deleted_at IS NULL')
BATCH_SIZE = 5000


def upgrade():
    op.add_column('post', sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('post', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('post', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its foreign key in place; batch mode would copy
        # the table (and warn that it cannot read user's lower() indexes).
        op.execute(
            'ALTER TABLE post ADD COLUMN reply_to_id INTEGER '
            'CONSTRAINT fk_post_reply_to_id_post REFERENCES post (id)'
        )
    else:
        op.add_column('post', sa.Column('reply_to_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_post_reply_to_id_post', 'post', 'post', ['reply_to_id'], ['id'])

    op.drop_index('ix_post_timestamp_id', table_name='post')
    op.drop_index('ix_post_user_id_timestamp_id', table_name='post')
    for name, columns in [
        ('ix_post_timestamp_id', ['timestamp', 'id']),
        ('ix_post_user_id_timestamp_id', ['user_id', 'timestamp', 'id']),
        ('ix_post_reply_to_id_timestamp_id', ['reply_to_id', 'timestamp', 'id']),
    ]:
        op.create_index(name, 'post', columns, unique=False, sqlite_where=LIVE, postgresql_where=LIVE)

    post_tag = op.create_table('post_tag',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], name=op.f('fk_post_tag_post_id_post'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', 'tag', name=op.f('pk_post_tag'))
    )
    tag_existing_posts(post_tag)
    op.create_index('ix_post_tag_tag_timestamp_post_id', 'post_tag', ['tag', 'timestamp', 'post_id'], unique=False)


def tag_existing_posts(post_tag):
    """The hashtags of the posts written before this revision, read in batches by id."""
    connection = op.get_bind()
    post = sa.table(
        'post', sa.column('id'), sa.column('body'), sa.column('timestamp', sa.DateTime(timezone=True))
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(post.c.id, post.c.body, post.c.timestamp)
            .where(post.c.id > last_id)
            .order_by(post.c.id)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            return
        tags = [
            {'post_id': row.id, 'tag': tag, 'timestamp': row.timestamp}
            for row in rows
            for tag in hashtags_in(row.body)
        ]
        if tags:
            connection.execute(post_tag.insert(), tags)
        last_id = rows[-1].id


def downgrade():
    op.drop_index('ix_post_tag_tag_timestamp_post_id', table_name='post_tag')
    op.drop_table('post_tag')
    # Deleted posts have no text to go back to: they leave with the columns that
    # mark them, and their replies become posts of their own.
    op.execute(sa.text(
        'UPDATE post SET reply_to_id = NULL '
        'WHERE reply_to_id IN (SELECT id FROM post WHERE deleted_at IS NOT NULL)'
    ))
    op.execute(sa.text('DELETE FROM post WHERE deleted_at IS NOT NULL'))
    op.drop_index('ix_post_reply_to_id_timestamp_id', table_name='post')
    op.drop_index('ix_post_user_id_timestamp_id', table_name='post')
    op.drop_index('ix_post_timestamp_id', table_name='post')
    # SQLite drops the column with the foreign key written on it (see upgrade).
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_post_reply_to_id_post', 'post', type_='foreignkey')
    op.drop_column('post', 'reply_to_id')
    op.drop_column('post', 'version')
    op.drop_column('post', 'deleted_at')
    op.drop_column('post', 'edited_at')
    op.create_index('ix_post_timestamp_id', 'post', ['timestamp', 'id'], unique=False)
    op.create_index('ix_post_user_id_timestamp_id', 'post', ['user_id', 'timestamp', 'id'], unique=False)
