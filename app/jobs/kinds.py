"""What a kind of job is to the runner, and what a running job can tell it.

A feature that has background work registers its kinds at start-up
(``app.extensions["jobs"].register``): the runner looks a job's kind up by name.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from app.database import utcnow
from app.extensions import db
from app.jobs.models import RUNNING, Job
from app.reporting.jobs import JobContext


class JobLost(Exception):
    """The job's row is gone (its account was deleted) or a newer attempt claimed it."""


@dataclass(frozen=True)
class JobKind:
    name: str
    # Does the work; returns the columns to set on the job when it is done.
    run: Callable[["RunningJob"], dict[str, Any]]
    # Tell the person, once the job is done or has been given up.
    on_done: Callable[[Job], None] | None = None
    on_failed: Callable[[Job], None] | None = None
    # Run now and then by every runner, with the recovery of lost jobs.
    maintenance: Callable[[], None] | None = None


class RunningJob:
    """The job a runner claimed: who it is for, and how it reports progress."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self.id = context.id
        self.user_id = context.user_id

    def progress(self, done: int, total: int) -> None:
        """Record progress (the page's bar) and the heartbeat, and commit.

        JobLost when this claim no longer holds: the row is gone, or the job seemed
        lost and was claimed again by another runner, which now does the work.
        """
        changed = db.session.execute(
            update(Job)
            .where(Job.id == self.id, Job.state == RUNNING, Job.attempts == self.context.attempt)
            .values(done=done, total=total, heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if changed != 1:
            attempt = self.context.attempt
            raise JobLost(f"job {self.id} is no longer this runner's (attempt {attempt})")
