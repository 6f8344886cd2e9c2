"""``flask jobs worker``: the RQ worker process of production, and ``flask jobs recover``.

The worker is RQ's ``SimpleWorker``: each job runs in the worker process itself,
not in a process forked for it. So the one mail sender of the process, and its
storm control, see every job's failures (a fork per job would start each with an
empty storm control, and its queued mail would die with it), and the app, its
database pool and its log handlers are made once. Between jobs, every half
JOB_STALL_SECONDS, it runs RQ's maintenance and ``recover_stalled``: a job whose
worker was killed is queued again or marked failed even if nobody looks at it.
"""

import os

import click
from flask import Flask, current_app
from redis import Redis
from rq import Queue, SimpleWorker

from app.extensions import db
from app.jobs.queues import QUEUE_NAME
from app.jobs.runner import maintain, recover_stalled
from config import THREAD_QUEUE

# How much lower than the web servers' the worker's CPU priority is, by default.
WORKER_NICENESS = 10
# RQ waits this much longer than its dequeue timeout before it deems a worker dead.
RQ_TTL_MARGIN = 15


class JobWorker(SimpleWorker):
    """RQ's in-process worker, with the site's recovery of lost jobs in its maintenance."""

    flask_app: Flask

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        with self.flask_app.app_context():
            try:
                maintain()
            finally:
                db.session.remove()


def make_worker(app: Flask) -> JobWorker:
    url = app.config["JOBS_QUEUE"]
    if url == THREAD_QUEUE:
        raise click.ClickException(
            "JOBS_QUEUE is 'thread': jobs run in a thread of each web process, and no "
            "worker is needed. Set JOBS_QUEUE_URL (or a Redis RATELIMIT_STORAGE_URI) to "
            "run them here."
        )
    connection = Redis.from_url(url, socket_connect_timeout=5)
    interval = max(app.config["JOB_STALL_SECONDS"] // 2, 1)
    worker = JobWorker(
        [Queue(QUEUE_NAME, connection=connection)],
        connection=connection,
        # The blocking wait for a job lasts the TTL less 15 s: this keeps the
        # maintenance (and so the recovery) to its interval when the queue is idle.
        worker_ttl=interval + RQ_TTL_MARGIN,
        maintenance_interval=interval,
    )
    worker.flask_app = app
    return worker


def init_app(app: Flask) -> None:
    @app.cli.group()
    def jobs() -> None:
        """Background jobs (exports, account deletions)."""

    @jobs.command()
    @click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
    @click.option(
        "--metrics-port",
        type=int,
        default=None,
        help="With METRICS_ENABLED, serve this worker's metrics on 127.0.0.1:PORT.",
    )
    @click.option(
        "--nice",
        type=click.IntRange(0, 19),
        default=WORKER_NICENESS,
        show_default=True,
        help="Lower the worker's CPU priority by this much (0: as started).",
    )
    def worker(burst: bool, metrics_port: int | None, nice: int) -> None:
        """Run the jobs queued in JOBS_QUEUE's Redis, one at a time, until stopped."""
        flask_app = current_app._get_current_object()  # type: ignore[attr-defined]
        # Pages first: on a machine that also serves them, an export must not take
        # their CPU (bench.export_cost measures both ways); it only takes longer.
        os.nice(nice)
        rq_worker = make_worker(flask_app)
        if metrics_port is not None and "metrics" in flask_app.extensions:
            from prometheus_client import start_http_server

            start_http_server(
                metrics_port, addr="127.0.0.1", registry=flask_app.extensions["metrics"].registry
            )
        # On standard output too (systemd's journal): the log file may be elsewhere.
        click.echo(f"Job worker {rq_worker.name} started (pid {os.getpid()})")
        flask_app.logger.info("Job worker %s started", rq_worker.name)
        rq_worker.work(burst=burst, logging_level="WARNING")

    @jobs.command()
    def recover() -> None:
        """Queue again (or fail) the jobs whose worker was lost, now."""
        click.echo(f"{recover_stalled()} lost job(s) queued again or marked failed.")
