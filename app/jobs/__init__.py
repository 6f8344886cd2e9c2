"""Background jobs: exports and account deletions, run outside the requests that ask for them.

``init_app`` gives the app its queue (``JOBS_QUEUE``: RQ on Redis, with
``flask jobs worker`` processes, or a thread of each process) in
``app.extensions["jobs"]``; features register their kinds of job there, and
start jobs with ``start``. See docs/jobs.md for the states, the guarantees and
the operator's side.
"""

from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import is_unique_violation
from app.extensions import db
from app.jobs import worker
from app.jobs.kinds import JobKind
from app.jobs.models import ACCOUNT_DELETION, ACTIVE, Job
from app.jobs.queues import RedisQueue, ThreadQueue
from app.jobs.tally import JobTally
from config import THREAD_QUEUE

__all__ = ["Job", "JobKind", "deletion_under_way", "init_app", "latest_job", "start"]


class Jobs:
    """The app's jobs: its queue, the kinds registered, and the tally of their runs."""

    def __init__(self, app: Flask) -> None:
        url = app.config["JOBS_QUEUE"]
        self.queue: RedisQueue | ThreadQueue = (
            ThreadQueue(app) if url == THREAD_QUEUE else RedisQueue(url, app.logger)
        )
        self.kinds: dict[str, JobKind] = {}
        self.tally = JobTally()

    def register(self, kind: JobKind) -> None:
        self.kinds[kind.name] = kind

    def stop(self) -> None:
        self.queue.stop()

    def send(self, job_id: int) -> None:
        """Hand the job to a runner; only ever after the job's row is committed."""
        self.queue.send(job_id)


def init_app(app: Flask) -> None:
    jobs = Jobs(app)
    app.extensions["jobs"] = jobs
    if isinstance(jobs.queue, ThreadQueue):
        app.before_request(jobs.queue.resume_after_restart)
    worker.init_app(app)


def start(kind: str, user_id: int, along: Callable[[], object] | None = None) -> Job | None:
    """Queue a job of ``kind`` for ``user_id``; None when one is already under way.

    ``along`` runs in the same transaction (a deletion signs the person out
    everywhere with it). The partial unique index on the job table decides a
    race between two requests: the loser's transaction is rolled back whole.
    The winner's job may be over by the time the loser learns it lost, so the
    broken constraint, not a look for a job under way, tells the loser.
    """
    job = Job(kind=kind, user_id=user_id, max_attempts=current_app.config["JOB_MAX_ATTEMPTS"])
    try:
        db.session.add(job)
        db.session.flush()
        if along is not None:
            along()
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        if not is_unique_violation(error):
            raise  # the account itself is gone: answered by app.account_data.races
        return None
    current_app.extensions["jobs"].send(job.id)
    return job


def latest_job(kind: str, user_id: int) -> Job | None:
    return db.session.scalar(
        select(Job)
        .where(Job.kind == kind, Job.user_id == user_id)
        .order_by(Job.id.desc())
        .limit(1)
    )


def active_job(kind: str, user_id: int) -> Job | None:
    return db.session.scalar(
        select(Job).where(Job.kind == kind, Job.user_id == user_id, ACTIVE).limit(1)
    )


def deletion_under_way(user_id: int) -> bool:
    """Whether the account is being deleted: it cannot be signed in to meanwhile."""
    return active_job(ACCOUNT_DELETION, user_id) is not None
