"""user session token

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:45:00.000000

Written by hand. SQLite cannot alter a column in place, and Alembic's batch mode
would rebuild the table without the lower() unique indexes it cannot reflect, so
the column is added NOT NULL with an empty server default (allowed by both SQLite
and PostgreSQL), every existing account then gets its own random token, and the
default is dropped where the database can do it in place (PostgreSQL). An empty
token never loads a user (see app.models.load_user), and the application always
writes a token itself.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

user = sa.table('user', sa.column('id', sa.Integer), sa.column('session_token', sa.String))


def upgrade():
    op.add_column(
        'user',
        sa.Column('session_token', sa.String(length=64), nullable=False, server_default=''),
    )
    # Existing sessions and remember cookies hold the bare user id, which no longer
    # loads a user: everyone signs in once more after this upgrade.
    connection = op.get_bind()
    for user_id in connection.execute(sa.select(user.c.id)).scalars().all():
        connection.execute(
            user.update()
            .where(user.c.id == user_id)
            .values(session_token=secrets.token_hex(32))
        )
    if connection.dialect.name != 'sqlite':
        op.alter_column(
            'user', 'session_token', existing_type=sa.String(length=64), server_default=None
        )


def downgrade():
    # A plain DROP COLUMN (SQLite >= 3.35): batch mode would lose the lower() indexes.
    op.drop_column('user', 'session_token')
