"""followers: who follows whom

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:10:00.000000

One row per pair; the composite primary key refuses a second follow, and the
index on (followed_id, follower_id) answers "who follows X". Deleting a user
deletes their rows in both directions.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'followers',
        sa.Column('follower_id', sa.Integer(), nullable=False),
        sa.Column('followed_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['followed_id'], ['user.id'],
            name=op.f('fk_followers_followed_id_user'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['follower_id'], ['user.id'],
            name=op.f('fk_followers_follower_id_user'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('follower_id', 'followed_id', name=op.f('pk_followers')),
    )
    op.create_index(
        'ix_followers_followed_id_follower_id', 'followers', ['followed_id', 'follower_id'],
        unique=False,
    )


def downgrade():
    op.drop_index('ix_followers_followed_id_follower_id', table_name='followers')
    op.drop_table('followers')
