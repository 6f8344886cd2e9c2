"""Prometheus metrics under gunicorn: every worker's numbers add up at /metrics."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from bench.probes import child_pids
from testkit.clients import LiveClient
from testkit.prometheus import parse_samples, sample, total
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import wait_until
from testkit.services.production import production_environment
from testkit.services.smtp import SmtpSink

pytestmark = pytest.mark.system

ADMIN = "ops@example.com"
PAGES = 60
CRASHES = 10
REQUESTS = "microblog_http_requests_total"


def requests_counted_by(folder: Path, pid: int) -> float:
    """The requests one worker counted, read from its own file."""
    families = MultiProcessCollector.merge([str(folder / f"counter_{pid}.db")])
    return sum(s.value for family in families for s in family.samples if s.name == REQUESTS)


def scrape(url: str) -> tuple[str, dict]:
    reply = LiveClient(url).get("/metrics")
    assert reply.status == 200
    return reply.text, parse_samples(reply.text)


def test_two_workers_add_up_at_metrics_and_a_dead_worker_keeps_its_counts(
    smtp: SmtpSink, tmp_path
):
    temporary = tmp_path / "tmp"  # where deploy/gunicorn.conf.py makes its folder
    temporary.mkdir()
    environment = production_environment(
        tmp_path,
        TMPDIR=str(temporary),
        METRICS_ENABLED="1",
        RATELIMIT_ENABLED="0",
        MAIL_SERVER=smtp.host,
        MAIL_PORT=str(smtp.port),
        ADMINS=ADMIN,
    )
    output = tmp_path / "gunicorn.out"
    with gunicorn_server(
        "testkit.crashing_app:app", environment=environment, output=output, workers=2
    ) as server:
        workers = child_pids(server.process.pid)
        assert len(workers) == 2
        # No PROMETHEUS_MULTIPROC_DIR given: gunicorn.conf.py made a private folder.
        [folder] = temporary.glob("microblog-metrics-*")
        assert wait_until(
            lambda: all((folder / f"counter_{pid}.db").exists() for pid in workers), 30
        )
        _, before = scrape(server.url)
        login = {"endpoint": "auth.login", "method": "GET", "status": "200"}

        def visit(number: int) -> int:
            path = "/crash/" if number < CRASHES else "/login"
            return LiveClient(server.url).get(path).status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(visit, range(PAGES + CRASHES)))
        assert statuses.count(200) == PAGES
        assert statuses.count(500) == CRASHES

        # Each worker answered some of the requests, and counted only its own.
        shares = [requests_counted_by(folder, pid) for pid in workers]
        print(f"\nrequests counted by each worker: {shares}")
        assert all(share > 0 for share in shares)
        assert sum(shares) == total(before, REQUESTS) + 1 + PAGES + CRASHES  # 1: that scrape

        # Whichever worker answers a scrape shows the sum of both (a scrape is
        # counted once it has answered, before the next one starts).
        for scraped in range(6):
            text, samples = scrape(server.url)
            assert total(samples, REQUESTS) == sum(shares) + scraped
            assert sample(samples, REQUESTS, **login) == sample(before, REQUESTS, **login) + PAGES
        crashes = {"endpoint": "crashing.crash", "method": "GET", "status": "500"}
        assert sample(samples, REQUESTS, **crashes) == CRASHES
        failure = {"type": "testkit.crashing.DeliberateFailure"}
        assert sample(samples, "microblog_unhandled_exceptions_total", **failure) == CRASHES
        duration = "microblog_http_request_duration_seconds_count"
        assert sample(samples, duration, endpoint="crashing.crash", method="GET") == CRASHES

        # Storm control counts per worker: each worker mails its own first crash.
        def emails_settled() -> dict | None:
            _, samples = scrape(server.url)
            mailed = sample(samples, "microblog_error_emails_total", kind="report", outcome="sent")
            folded = sample(samples, "microblog_error_reports_folded_total")
            return samples if mailed + folded == CRASHES else None

        samples = wait_until(emails_settled, 20)
        assert samples, "the senders did not account for every report"
        mailed = sample(samples, "microblog_error_emails_total", kind="report", outcome="sent")
        assert mailed in (1, 2)
        assert len(smtp.inbox.wait_for(int(mailed))) == mailed
        assert sample(samples, "microblog_error_report_queue_length") == 0
        text, _ = scrape(server.url)
        print(f"after {PAGES} pages and {CRASHES} crashes, /metrics shows:\n")
        print("\n".join(line for line in text.splitlines() if "_bucket{" not in line))

        # A worker that exits is replaced; its counts stay, its live gauge goes.
        os.kill(workers[0], signal.SIGTERM)
        replaced = wait_until(lambda: set(child_pids(server.process.pid)) - set(workers), 30)
        assert replaced
        # Up and counting (a worker stopped while it boots holds up gunicorn's exit).
        [new_worker] = replaced
        assert wait_until(lambda: (folder / f"counter_{new_worker}.db").exists(), 30)
        assert wait_until(lambda: not (folder / f"gauge_livesum_{workers[0]}.db").exists(), 10)
        assert (folder / f"counter_{workers[0]}.db").exists()
        _, after = scrape(server.url)
        assert sample(after, REQUESTS, **login) == sample(before, REQUESTS, **login) + PAGES
        assert sample(after, "microblog_unhandled_exceptions_total", **failure) == CRASHES

    assert not folder.exists(), "the private metrics folder outlived gunicorn"


def test_a_named_metrics_folder_is_emptied_of_an_earlier_run(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_99999.db").write_bytes(b"left over from an earlier run")
    environment = production_environment(
        tmp_path, METRICS_ENABLED="1", PROMETHEUS_MULTIPROC_DIR=str(folder)
    )
    with gunicorn_server(
        environment=environment, output=tmp_path / "gunicorn.out", workers=2
    ) as server:
        assert not (folder / "counter_99999.db").exists()
        # Its unreadable content would have made every scrape fail.
        _, samples = scrape(server.url)
        assert total(samples, REQUESTS) > 0
    assert folder.exists()  # the operator's folder stays
