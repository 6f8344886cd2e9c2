"""jobs: background jobs (data exports, account deletions)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:20:00.000000

One row per job (app/jobs/models.py): whose it is, its kind and state, its
attempts and progress, its heartbeat (how a lost worker is noticed), what the
person is told, and an export's file. A partial unique index allows one job of a
kind under way (queued or running) per person, whatever the requests racing to
start one. The jobs go with their account (ON DELETE CASCADE).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ACTIVE = sa.text("state IN ('queued', 'running')")


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('file_name', sa.String(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_job_state')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_job_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    op.create_index('uq_job_user_id_kind_active', 'job', ['user_id', 'kind'], unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    op.create_index('ix_job_user_id_kind_id', 'job', ['user_id', 'kind', 'id'], unique=False)
    op.create_index('ix_job_heartbeat_at', 'job', ['heartbeat_at'], unique=False, sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade():
    op.drop_index('ix_job_heartbeat_at', table_name='job')
    op.drop_index('ix_job_user_id_kind_id', table_name='job')
    op.drop_index('uq_job_user_id_kind_active', table_name='job')
    op.drop_table('job')
