"""The job table: each background job, where it stands, and whose it is.

The database, not the queue, is the authority on a job. A queue (RQ's Redis list,
or a thread's in-memory one) only carries job ids to a runner, and may carry one
twice (a recovery re-sends what it cannot prove was received): a runner claims a
job with one conditional UPDATE, so however many copies arrive, one runner runs it.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models import User

# The kinds of job (app.account_data registers what each does).
EXPORT = "export"
ACCOUNT_DELETION = "delete_account"

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
ACTIVE_STATES = (QUEUED, RUNNING)
ACTIVE = text("state IN ('queued', 'running')")


class Job(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # What the job does (app.jobs.kinds): "export", "delete_account".
    kind: Mapped[str] = mapped_column(String(32))
    # Whose data it reads or removes: the account's deletion takes its jobs along.
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    # Claims so far. Also the fencing token of the claim: a runner whose job was
    # claimed again after it seemed lost finds its progress refused, and stops.
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int]
    # Progress, in units of the job's own (rows written, for an export).
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at every claim and every progress report: a running job whose
    # heartbeat is older than JOB_STALL_SECONDS lost its worker (app.jobs.runner).
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the person is told about an interruption or a failure (never a traceback).
    note: Mapped[str | None] = mapped_column(String(200))
    # An export's file in EXPORT_DIR, and until when it may be downloaded.
    file_name: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state"),
        # One job of a kind under way per person, whatever the requests racing to
        # start one (two tabs, a double click, two servers): the database refuses
        # the second (app.jobs.start).
        Index(
            "uq_job_user_id_kind_active",
            "user_id",
            "kind",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        # A person's latest job of a kind (the account pages).
        Index("ix_job_user_id_kind_id", "user_id", "kind", "id"),
        # The jobs under way whose heartbeat is old (the recovery's scan).
        Index("ix_job_heartbeat_at", "heartbeat_at", sqlite_where=ACTIVE, postgresql_where=ACTIVE),
    )

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state}>"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0
