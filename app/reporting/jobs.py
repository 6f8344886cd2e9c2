"""Which background job is running in this thread: what its log lines and reports carry.

A failing job is reported as a failing request is (app.reporting): its log lines
carry the job's reference (``job-42``) where a request's carry the request id, its
error email says which job, whose, and which attempt (through the same storm
control), and Sentry tags its events with it. The runner (app.jobs.runner) sets
the job for the time it runs it.
"""

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class JobContext:
    id: int
    kind: str
    user_id: int
    attempt: int
    max_attempts: int

    @property
    def reference(self) -> str:
        """The job's id as log lines, emails and Sentry show it, beside request ids."""
        return f"job-{self.id}"


CURRENT_JOB: ContextVar[JobContext | None] = ContextVar("current_job", default=None)


def current_job() -> JobContext | None:
    return CURRENT_JOB.get()


@contextlib.contextmanager
def running_job(job: JobContext) -> Iterator[None]:
    """Everything logged in this block is the job's."""
    token = CURRENT_JOB.set(job)
    try:
        yield
    finally:
        CURRENT_JOB.reset(token)


def job_context_lines(job: JobContext) -> list[tuple[str, str]]:
    """The job's lines in an error report, where a request's method and URL would be."""
    return [
        ("Job", f"{job.reference} ({job.kind})"),
        ("Attempt", f"{job.attempt} of {job.max_attempts}"),
        ("For user", f"id {job.user_id}"),
    ]
