"""The jobs' machinery: lost jobs found and retried or failed, failures reported as a
request's are (log record with the job id, email through storm control, Sentry, metrics).

A job "whose worker stopped" is what a killed worker leaves in the database: a
running job whose heartbeat is older than JOB_STALL_SECONDS. A real SIGKILL of a
real worker is test_suites/system/test_jobs.py's.
"""

import json
import re
import signal
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from app.database import utcnow
from app.extensions import db
from app.jobs.models import EXPORT, RUNNING, Job
from app.jobs.runner import recover_stalled
from testkit.apps import log_text
from testkit.clients import Auth, make_user, page_text, submit
from testkit.services.processes import free_port, unavailable, wait_until
from testkit.services.redis import RedisUnavailable, redis_server
from testkit.services.smtp import SmtpSink, body_of, context_of

STALL = 5  # JOB_STALL_SECONDS of these tests


def left_by_a_killed_worker(app: Flask, attempts: int, max_attempts: int = 3) -> int:
    """An export that was running when its worker died, long enough ago to be noticed."""
    with app.app_context():
        alice = make_user("alice")
        job = Job(kind=EXPORT, user_id=alice.id, state=RUNNING, attempts=attempts)
        job.max_attempts = max_attempts
        job.done, job.total = 1, 5
        job.heartbeat_at = utcnow() - timedelta(seconds=STALL + 1)
        db.session.add(job)
        db.session.commit()
        return job.id


def job_state(app: Flask, job_id: int) -> tuple[str, int, str | None]:
    with app.app_context():
        job = db.session.get(Job, job_id)
        return job.state, job.attempts, job.note


@pytest.mark.parametrize("job_settings", [{"JOB_STALL_SECONDS": STALL}])
def test_a_job_whose_worker_stopped_is_retried_and_the_person_sees_it(jobs_app, smtp: SmtpSink):
    job_id = left_by_a_killed_worker(jobs_app, attempts=1)
    client = jobs_app.test_client()
    Auth(client).login("alice")

    # The page itself notices: the job is queued again at once, and says why.
    page = page_text(client.get("/account/export"))
    assert "Attempt 1 of 3 was interrupted (its worker stopped); trying again." in page
    # The note is kept in English with the job; each reader sees it in their language.
    page = page_text(client.get("/account/export", headers={"Accept-Language": "es"}))
    assert "El intento 1 de 3 se interrumpió (su proceso se detuvo); se vuelve a intentar." in page
    assert wait_until(lambda: job_state(jobs_app, job_id)[0] == "done", 30)
    state, attempts, note = job_state(jobs_app, job_id)
    assert attempts == 2
    assert "Attempt 1 of 3 was interrupted" in note
    assert "Your export is ready." in page_text(client.get("/account/export"))
    log = log_text(jobs_app)
    assert re.search(
        rf"WARNING \[job-{job_id}\] Job export lost its worker \(no heartbeat for \d+ s\) "
        r"on attempt 1 of 3",
        log,
    )
    # An interruption that is retried is no failure: no report to the admins.
    assert all(not m["Subject"].startswith("Microblog Failure") for m in smtp.inbox.settle(0.5))


@pytest.mark.parametrize("job_settings", [{"JOB_STALL_SECONDS": STALL, "METRICS_ENABLED": True}])
def test_a_job_whose_worker_stopped_on_its_last_attempt_is_failed_and_reported(
    jobs_app, smtp: SmtpSink
):
    job_id = left_by_a_killed_worker(jobs_app, attempts=3)
    client = jobs_app.test_client()
    Auth(client).login("alice")

    status = client.get("/account/export/status").get_json()
    assert status["state"] == "failed"
    assert status["finished"] is True
    assert status["message"] == (
        "Attempt 3 of 3 was interrupted (its worker stopped): given up. Your export could "
        "not be made. The site's administrators have been told."
    )
    assert "Export my data" in page_text(client.get("/account/export"))  # to try again
    spanish = client.get("/account/export/status", headers={"Accept-Language": "es"})
    assert spanish.get_json()["message"].startswith(
        "El intento 3 de 3 se interrumpió (su proceso se detuvo): no se intentará más. "
    )

    [report] = smtp.inbox.wait_for(1)
    assert re.fullmatch(
        r"Microblog Failure: Job export lost its worker \(no heartbeat for \d+ s\) on attempt "
        r"3 of 3 in job export",
        report["Subject"],
    )
    assert context_of(report)["Job"] == f"job-{job_id} (export)"
    assert re.search(rf"ERROR \[job-{job_id}\] Job export lost its worker", log_text(jobs_app))
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'microblog_jobs_total{kind="export",outcome="failed"} 1.0' in metrics


@pytest.mark.parametrize(
    "job_settings", [{"METRICS_ENABLED": True, "JOB_MAX_ATTEMPTS": 2, "LOG_FORMAT": "json"}]
)
def test_a_failing_job_is_reported_as_a_failing_request_is(jobs_app, smtp: SmtpSink, tmp_path):
    # An export folder that cannot be made: a file is in its way.
    (tmp_path / "exports").write_text("not a folder")
    with jobs_app.app_context():
        make_user("alice")
    client = jobs_app.test_client()
    Auth(client).login("alice")
    assert submit(client, "/account/export", {}).status_code == 302

    def finished() -> dict | bool:
        found = client.get("/account/export/status").get_json()
        return found["finished"] and found

    status = wait_until(finished, 30)
    assert status["state"] == "failed"
    assert status["message"].startswith("Attempt 2 of 2 failed: given up.")
    with jobs_app.app_context():
        job_id = db.session.scalar(sa.select(Job.id))

    # Two failures of one kind: the first is mailed at once, the second kept for the
    # digest by storm control, as two failing requests would be.
    [report] = smtp.inbox.wait_for(1)
    assert report["Subject"] == "Microblog Failure: FileExistsError in job export"
    body = body_of(report)
    assert context_of(report)["Job"] == f"job-{job_id} (export)"
    assert context_of(report)["Attempt"] == "1 of 2"
    assert "Traceback (most recent call last)" in body
    assert "Request id" not in context_of(report)

    lines = [json.loads(line) for line in log_text(jobs_app).splitlines()]
    failures = [line for line in lines if line["level"] == "ERROR"]
    assert [line["message"] for line in failures] == [
        "Job export failed (attempt 1 of 2)",
        "Job export failed (attempt 2 of 2)",
    ]
    for line in failures:
        assert line["request_id"] == f"job-{job_id}"
        assert line["job_id"] == job_id
        assert line["job_kind"] == "export"
        assert line["exc_type"] == "FileExistsError"

    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'microblog_jobs_total{kind="export",outcome="retried"} 1.0' in metrics
    assert 'microblog_jobs_total{kind="export",outcome="failed"} 1.0' in metrics
    assert "microblog_error_reports_folded_total 1.0" in metrics
    assert 'microblog_job_duration_seconds_count{kind="export"} 2.0' in metrics


def test_a_failing_job_reaches_sentry_tagged_with_the_job(smtp, sentry, make_app, tmp_path):
    (tmp_path / "exports").write_text("not a folder")
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.db'}",
        EXPORT_DIR=str(tmp_path / "exports"),
        SENTRY_DSN=sentry.dsn,
        JOB_MAX_ATTEMPTS=1,
    )
    with app.app_context():
        db.create_all()
        make_user("alice")
    client = app.test_client()
    Auth(client).login("alice")
    submit(client, "/account/export", {})
    [event] = sentry.wait_for_events(1)
    assert event["tags"]["job_kind"] == "export"
    assert event["tags"]["request_id"] == f"job-{event['tags']['job_id']}"
    assert event["user"] == {"id": event["tags"]["user_id"]}
    assert event["exception"]["values"][-1]["type"] == "FileExistsError"


@pytest.mark.parametrize("job_settings", [{"JOB_STALL_SECONDS": STALL}])
def test_jobs_left_under_way_by_a_restart_are_recovered_by_the_next_process(
    jobs_app, make_app, database, tmp_path
):
    job_id = left_by_a_killed_worker(jobs_app, attempts=1)
    # The same database, opened by a new process: its first request starts the jobs'
    # thread, which finds the job and runs it again, nobody looking at it.
    restarted = make_app(
        SQLALCHEMY_DATABASE_URI=jobs_app.config["SQLALCHEMY_DATABASE_URI"],
        EXPORT_DIR=jobs_app.config["EXPORT_DIR"],
        JOB_STALL_SECONDS=STALL,
    )
    assert restarted.test_client().get("/explore").status_code == 200
    assert wait_until(lambda: job_state(jobs_app, job_id)[0] == "done", 30)


def test_a_job_the_queue_cannot_take_stays_queued_and_is_sent_again(make_app, tmp_path):
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.db'}",
        JOBS_QUEUE_URL=f"redis://127.0.0.1:{free_port()}/0",
        JOB_STALL_SECONDS=1,
    )
    with app.app_context():
        db.create_all()
        make_user("alice")
    client = app.test_client()
    Auth(client).login("alice")
    assert submit(client, "/account/export", {}).status_code == 302
    assert "Waiting for its turn." in page_text(client.get("/account/export"))
    log = log_text(app)
    assert re.search(r"WARNING \[\w+\] Job queue unreachable \(ConnectionError: .*\): job 1 ", log)
    with app.app_context():
        db.session.execute(sa.update(Job).values(heartbeat_at=utcnow() - timedelta(seconds=2)))
        db.session.commit()
        assert recover_stalled() == 1
    assert log_text(app).count("Job queue unreachable") == 2


def test_an_in_memory_database_keeps_jobs_queued_with_a_warning(make_app):
    app = make_app()
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    Auth(client).login("alice")
    assert submit(client, "/account/export", {}).status_code == 302
    assert "an in-memory SQLite database cannot be shared" in log_text(app)


def test_the_worker_command_needs_a_redis_queue(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0
    assert "JOBS_QUEUE is 'thread'" in result.output


def test_flask_jobs_recover_settles_lost_jobs_now(file_app):
    with file_app.app_context():
        alice = make_user("alice")
        job = Job(kind=EXPORT, user_id=alice.id, state=RUNNING, attempts=3, max_attempts=3)
        job.heartbeat_at = utcnow() - timedelta(hours=1)
        db.session.add(job)
        db.session.commit()
    result = file_app.test_cli_runner().invoke(args=["jobs", "recover"])
    assert result.exit_code == 0, result.output
    assert "1 lost job(s) queued again or marked failed." in result.output
    with file_app.app_context():
        assert db.session.scalar(sa.select(Job.state)) == "failed"


@pytest.mark.parametrize(
    ("settings", "queue"),
    [
        ({}, "thread"),
        ({"RATELIMIT_STORAGE_URI": "redis://cache:6379/0"}, "redis://cache:6379/0"),
        ({"RATELIMIT_STORAGE_URI": "memcached://cache:11211"}, "thread"),
        (
            {"RATELIMIT_STORAGE_URI": "redis://cache:6379/0", "JOBS_QUEUE_URL": "thread"},
            "thread",
        ),
        ({"JOBS_QUEUE_URL": " rediss://jobs:6380/1 "}, "rediss://jobs:6380/1"),
    ],
)
def test_jobs_go_to_their_own_queue_else_the_rate_limits_redis_else_a_thread(
    monkeypatch, settings, queue
):
    from config import Config

    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("JOBS_QUEUE_URL", raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert queue == Config.JOBS_QUEUE


@pytest.mark.parametrize("raw", ["amqp://broker", "threads", "memory://"])
def test_a_jobs_queue_that_is_neither_a_thread_nor_redis_is_refused(monkeypatch, raw):
    from config import Config, ConfigError

    monkeypatch.setenv("JOBS_QUEUE_URL", raw)
    with pytest.raises(ConfigError, match="JOBS_QUEUE_URL"):
        assert Config.JOBS_QUEUE


def test_the_rq_worker_runs_what_the_site_queued_and_its_upkeep(make_app, smtp, tmp_path):
    """``flask jobs worker --burst``, in this process, on a real Redis."""

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with redis_server() as redis_url:
            app = make_app(
                mail_port=smtp.port,
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.db'}",
                EXPORT_DIR=str(tmp_path / "exports"),
                RATELIMIT_STORAGE_URI=redis_url,  # the jobs' queue too
                JOB_STALL_SECONDS=STALL,
            )
            with app.app_context():
                db.create_all()
                make_user("alice")
            client = app.test_client()
            Auth(client).login("alice")
            assert submit(client, "/account/export", {}).status_code == 302
            assert client.get("/account/export/status").get_json()["state"] == "queued"

            result = app.test_cli_runner().invoke(
                args=["jobs", "worker", "--burst", "--nice", "0"]
            )
            assert result.exit_code == 0, result.output
            assert "Job worker " in result.output
            assert client.get("/account/export/status").get_json()["state"] == "done"
            [ready] = smtp.inbox.wait_for(1)
            assert ready["Subject"] == "Your Microblog data export is ready"
    except RedisUnavailable as reason:
        unavailable(f"the RQ worker's test needs Redis: {reason}")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
