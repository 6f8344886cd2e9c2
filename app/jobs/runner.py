"""Running jobs: claim one, run it, and settle what became of it; recover the lost ones.

Every runner (RQ's worker, or the thread of a process without Redis) calls
``perform`` with a job id, as often as the queue delivers it. The claim is one
conditional UPDATE (queued -> running, one more attempt): of two deliveries of
one job, one runs it. A running job writes a heartbeat with every progress
report. ``recover_stalled`` finds the jobs whose heartbeat is older than
JOB_STALL_SECONDS, which lost their runner (a worker killed mid-way, a machine
gone, a process restarted): each is queued again while it has attempts left,
and otherwise marked failed, where the person sees it. A job that raises is
reported (log record with the job id, error email through storm control, Sentry,
metrics) and queued again or marked failed the same way.
"""

import time
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.jobs.kinds import JobKind, JobLost, RunningJob
from app.jobs.models import ACTIVE_STATES, DONE, FAILED, QUEUED, RUNNING, Job
from app.languages import N_
from app.reporting import reporting_job
from app.reporting.jobs import JobContext

# How an attempt ended without finishing: an exception, or its worker stopped.
FAILED_ATTEMPT = "failed"
INTERRUPTED_ATTEMPT = "interrupted"
# A setback's note, kept with the job in English (the admins read the job records), by
# whether the job goes on and why its attempt ended; the export page shows it in the
# person's language (``note_in_language``).
NOTES = {
    (True, FAILED_ATTEMPT): N_("Attempt %(attempt)s of %(attempts)s failed; trying again."),
    (True, INTERRUPTED_ATTEMPT): N_(
        "Attempt %(attempt)s of %(attempts)s was interrupted (its worker stopped); trying again."
    ),
    (False, FAILED_ATTEMPT): N_("Attempt %(attempt)s of %(attempts)s failed: given up."),
    (False, INTERRUPTED_ATTEMPT): N_(
        "Attempt %(attempt)s of %(attempts)s was interrupted (its worker stopped): given up."
    ),
}


def context_of(job: Job | Any) -> JobContext:
    return JobContext(job.id, job.kind, job.user_id, job.attempts, job.max_attempts)


def claim(job_id: int) -> Job | None:
    """Take a queued job for this runner; None when it is not queued (anymore)."""
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == QUEUED)
        .values(state=RUNNING, attempts=Job.attempts + 1, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return db.session.get(Job, job_id) if claimed == 1 else None


def perform(job_id: int) -> None:
    """Run job ``job_id`` if it is still waiting: the entry point of every runner."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs = app.extensions["jobs"]
    try:
        job = claim(job_id)
        if job is None:
            return  # done already, taken by another runner, or its account is gone
        context = context_of(job)
        kind = jobs.kinds[job.kind]
        started = time.perf_counter()
        with reporting_job(app, context):
            app.logger.info(
                "Job started: %s, attempt %d of %d", job.kind, job.attempts, job.max_attempts
            )
            outcome = run(app, kind, context)
        jobs.tally.ended(kind.name, outcome, time.perf_counter() - started)
    finally:
        db.session.remove()


def run(app: Flask, kind: JobKind, context: JobContext) -> str:
    """Run the claimed job; settle it; return the outcome (for the metrics)."""
    try:
        values = kind.run(RunningJob(context))
    except JobLost as lost:
        db.session.rollback()
        app.logger.info("Job stopped: %s", lost)
        return "lost"
    except Exception:
        db.session.rollback()
        app.logger.exception(
            "Job %s failed (attempt %d of %d)", context.kind, context.attempt, context.max_attempts
        )
        return retry_or_give_up(app, kind, context, FAILED_ATTEMPT)
    finished = settle(context, RUNNING, DONE, finished_at=utcnow(), **values)
    app.logger.info("Job done: %s", context.kind)
    if finished is not None and kind.on_done is not None:
        tell(app, kind.on_done, finished)
    return "done"


def settle(context: JobContext, was: str, now: str, **values: Any) -> Job | None:
    """Move the job from ``was`` to ``now`` if this attempt still holds it; commit.

    None when it does not: the job was claimed again, or its account was deleted
    (a deletion's job goes with the account).
    """
    changed = db.session.execute(
        update(Job)
        .where(Job.id == context.id, Job.state == was, Job.attempts == context.attempt)
        .values(state=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return db.session.get(Job, context.id) if changed == 1 else None


def retry_or_give_up(app: Flask, kind: JobKind, context: JobContext, why: str) -> str:
    """Queue the job again while it has attempts left; else mark it failed, and tell the person.

    ``why`` is how the attempt ended: FAILED_ATTEMPT or INTERRUPTED_ATTEMPT.
    """
    words = {"attempt": context.attempt, "attempts": context.max_attempts}
    retrying = context.attempt < context.max_attempts
    note = NOTES[retrying, why] % words
    if retrying:
        if settle(context, RUNNING, QUEUED, note=note, heartbeat_at=utcnow()) is not None:
            app.extensions["jobs"].send(context.id)
        return "retried"
    failed = settle(context, RUNNING, FAILED, note=note, finished_at=utcnow())
    if failed is not None and kind.on_failed is not None:
        tell(app, kind.on_failed, failed)
    return "failed"


def tell(app: Flask, hook: Any, job: Job) -> None:
    """The person's email about their job: its failure is reported, the job stays settled."""
    try:
        hook(job)
    except Exception:
        app.logger.exception("Job %s: the email about it could not be made", job.kind)


STALLED = (
    select(Job)
    .where(Job.state.in_(ACTIVE_STATES))
    .order_by(Job.heartbeat_at)
    .execution_options(populate_existing=True)
)


def recover_stalled(user_id: int | None = None) -> int:
    """Queue again (or fail) the jobs under way whose heartbeat is too old; how many.

    Run by every runner now and then, and by the account pages for the person's own
    jobs (``user_id``), so that a lost job is seen to be retried or failed at once.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs = app.extensions["jobs"]
    cutoff = utcnow() - timedelta(seconds=app.config["JOB_STALL_SECONDS"])
    statement = STALLED.where(Job.heartbeat_at < cutoff)
    if user_id is not None:
        statement = statement.where(Job.user_id == user_id)
    recovered = 0
    for job in db.session.scalars(statement).all():
        context = context_of(job)
        if job.state == QUEUED:
            # Never claimed: the queue lost it (Redis restarted empty, or the process
            # whose thread held it ended). Sent again; a copy that still arrives is
            # claimed once all the same.
            resent = db.session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == QUEUED, Job.heartbeat_at == job.heartbeat_at)
                .values(heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
            if resent == 1:
                jobs.send(job.id)
                recovered += 1
            continue
        kind = jobs.kinds[job.kind]
        silent = int((utcnow() - job.heartbeat_at).total_seconds())
        with reporting_job(app, context):
            level = "warning" if job.attempts < job.max_attempts else "error"
            getattr(app.logger, level)(
                "Job %s lost its worker (no heartbeat for %d s) on attempt %d of %d",
                job.kind,
                silent,
                job.attempts,
                job.max_attempts,
            )
            outcome = retry_or_give_up(app, kind, context, INTERRUPTED_ATTEMPT)
        jobs.tally.ended(kind.name, outcome, 0.0)
        recovered += 1
    return recovered


def maintain() -> None:
    """What every runner does between jobs: recover lost jobs, and each kind's upkeep."""
    recover_stalled()
    for kind in current_app.extensions["jobs"].kinds.values():
        if kind.maintenance is not None:
            kind.maintenance()


def note_in_language(job: Job) -> str | None:
    """``job``'s note in the reader's language: the note's sentence, found among NOTES."""
    if not job.note:
        return None
    # The attempt the note is about: the last one of a job waiting again or given up;
    # the one before this one of a job running (or done) since (a claim counts the new
    # attempt).
    attempt = job.attempts if job.state in (QUEUED, FAILED) else job.attempts - 1
    words = {"attempt": attempt, "attempts": job.max_attempts}
    for note in NOTES.values():
        if note % words == job.note:
            return _(note, **words)
    return job.note
