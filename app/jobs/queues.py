"""How a job id reaches a runner: RQ on Redis, or a thread of this process.

Either way the queue only carries ids; the job table says what is to be done
(app.jobs.models), so a queue that loses an id (Redis restarted empty, a process
that ends) loses no job: ``recover_stalled`` sends it again.
"""

import logging
import os
import queue
from typing import Any

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.jobs.models import ACTIVE, Job
from app.jobs.runner import maintain, perform
from app.process_threads import STOP, ProcessThread

# The one RQ queue of the site, in the Redis of JOBS_QUEUE.
QUEUE_NAME = "microblog"
# The dotted path RQ's worker imports and calls with the job id.
ENTRY_POINT = "app.jobs.runner.perform"
# RQ's own limit on one run (it raises inside the job): far beyond any export, a
# backstop for a job stuck without end; lost heartbeats are caught much sooner.
RQ_JOB_TIMEOUT = 3600


class RedisQueue:
    """RQ: the site's Redis carries the ids to ``flask jobs worker`` processes."""

    def __init__(self, url: str, log: logging.Logger) -> None:
        self.url = url
        self.log = log
        self._queue: Queue | None = None

    def connection(self) -> Redis:
        # As for the rate limits: a Redis that does not answer costs a request a
        # second or two, never a worker hung on a dead connection.
        return Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    def rq_queue(self) -> Queue:
        # Made on first use: nothing connects while the app is being built.
        if self._queue is None:
            self._queue = Queue(QUEUE_NAME, connection=self.connection())
        return self._queue

    def stop(self) -> None:
        """Nothing to stop: the workers are processes of their own."""

    def send(self, job_id: int) -> None:
        try:
            self.rq_queue().enqueue(
                ENTRY_POINT,
                job_id,
                job_timeout=RQ_JOB_TIMEOUT,
                result_ttl=0,
                description=f"microblog job {job_id}",
            )
        except RedisError as error:
            # The job is in the database, queued: recover_stalled sends it again.
            self.log.warning(
                "Job queue unreachable (%s: %s): job %d will be sent again later",
                type(error).__name__,
                error,
                job_id,
            )


def holds_its_own_database(app: Flask) -> bool:
    """An in-memory SQLite database: one connection, which no other thread may use."""
    with app.app_context():
        url = db.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


class ThreadQueue:
    """A thread of this process runs the jobs, one at a time (no Redis).

    Started in each process when it first has a job to run (a thread started
    before gunicorn forks would not exist in its workers), and, after a restart,
    by the first request when jobs were left under way. Between jobs it looks for
    lost ones every half JOB_STALL_SECONDS. A job it holds when the process ends
    is lost with it, and found again by the next recovery, here or elsewhere.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.thread = ProcessThread("jobs", self._run)
        self.resumed_pid: int | None = None
        self.poll = max(app.config["JOB_STALL_SECONDS"] / 2, 0.5)
        self.usable = not holds_its_own_database(app)

    def send(self, job_id: int) -> None:
        if not self.usable:
            self.app.logger.warning(
                "Job %d stays queued: an in-memory SQLite database cannot be shared with "
                "the jobs' thread (use a database file)",
                job_id,
            )
            return
        self.thread.put(job_id)

    def resume_after_restart(self) -> None:
        """A before-request hook: the first request of a process starts the thread
        when jobs are under way (a restart left them), so that they are recovered."""
        if self.resumed_pid == os.getpid():
            return
        self.resumed_pid = os.getpid()
        if not self.usable:
            return
        try:
            under_way = db.session.scalar(db.select(Job.id).where(ACTIVE).limit(1))
        except DBAPIError as error:
            # A database without the job table yet (migrations not run): the page
            # asked for must not fail for the jobs' sake.
            db.session.rollback()
            self.app.logger.warning("Jobs under way could not be looked for: %s", error)
            return
        if under_way is not None:
            self.thread.start()

    def stop(self, timeout: float = 10) -> None:
        """End the thread once its job is done (tests, which build many apps)."""
        self.thread.stop(timeout)

    def _run(self, job_ids: queue.SimpleQueue[Any]) -> None:
        job_id: int | None = None  # none at first: look for lost jobs first
        while True:
            with self.app.app_context():
                try:
                    if job_id is None:
                        maintain()
                    else:
                        perform(job_id)
                except Exception:
                    # The thread must outlive any failure, which is reported as usual.
                    self.app.logger.exception("The jobs' thread failed between jobs")
                finally:
                    db.session.remove()
            try:
                job_id = job_ids.get(timeout=self.poll)
            except queue.Empty:
                job_id = None
            if job_id is STOP:
                return
