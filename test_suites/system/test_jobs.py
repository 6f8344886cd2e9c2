"""Jobs on RQ with a real Redis and real worker processes, killed with SIGKILL mid-export.

The application runs under gunicorn with the production settings, the jobs in
``flask jobs worker`` processes (RQ), error reports and the person's mail go to
a local SMTP server. Without Redis the test is skipped with the reason, except
in CI (CI=true), where that is a failure.
"""

import contextlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.clients import Auth, LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import unavailable, wait_until
from testkit.services.production import add_posts, production_environment, upgrade_database
from testkit.services.redis import RedisUnavailable, redis_server
from testkit.services.smtp import Inbox, smtp_sink
from testkit.services.worker import job_worker

pytestmark = pytest.mark.system

ADMIN = "ops@example.com"
# One post a batch: an export of POSTS posts takes seconds, long enough to be killed.
POSTS = 3000
STALL_SECONDS = 2


@dataclass
class Site:
    url: str
    environment: dict[str, str]
    workdir: Path
    inbox: Inbox

    def worker(self, name: str):
        return job_worker(self.environment, self.workdir / f"{name}.out")

    def app_log(self) -> str:
        return "".join(path.read_text() for path in (self.workdir / "logs").glob("microblog.log*"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("jobs")
    with contextlib.ExitStack() as stack:
        try:
            redis_url = stack.enter_context(redis_server())
        except RedisUnavailable as reason:
            unavailable(f"the jobs' system test needs Redis: {reason}")
        smtp = stack.enter_context(smtp_sink())
        environment = production_environment(
            workdir,
            JOBS_QUEUE_URL=redis_url,
            MAIL_SERVER=smtp.host,
            MAIL_PORT=str(smtp.port),
            ADMINS=ADMIN,
            EXPORT_DIR=str(workdir / "exports"),
            EXPORT_BATCH_SIZE="1",
            JOB_STALL_SECONDS=str(STALL_SECONDS),
            JOB_MAX_ATTEMPTS="2",
            RATELIMIT_ENABLED="0",
        )
        upgrade_database(environment)
        server = stack.enter_context(
            gunicorn_server(environment=environment, output=workdir / "gunicorn.out", workers=1)
        )
        yield Site(server.url, environment, workdir, smtp.inbox)


def status(browser: LiveClient) -> dict:
    reply = browser.get("/account/export/status", headers={"Accept": "application/json"})
    assert reply.status == 200, reply
    return json.loads(reply.text)


def when(browser: LiveClient, condition, seconds: float = 60) -> dict:
    """The export's status once ``condition(status)`` holds."""

    def met() -> dict | None:
        now = status(browser)
        return now if condition(now) else None

    found = wait_until(met, seconds)
    assert found, status(browser)
    return found


def running_with_progress(found: dict) -> bool:
    return found["state"] == "running" and 0 < found["percent"] < 100


def test_a_killed_worker_is_retried_then_given_up_and_an_export_is_made_on_rq(site: Site):
    browser = LiveClient(site.url)
    assert Auth(browser).register("writer").status == 302
    add_posts(site.environment["DATABASE_URL"], "writer", POSTS)
    assert browser.submit("/account/export", {}).status == 302

    with site.worker("first") as first:
        when(browser, running_with_progress)
        first.kill()  # SIGKILL, mid-export: nothing of the worker runs after it
        first.wait()
    killed_at = status(browser)
    assert killed_at["state"] == "running"

    with site.worker("second") as second:
        # Noticed once its heartbeat is STALL_SECONDS old, by the worker's maintenance.
        retried = when(browser, lambda s: "was interrupted" in s["message"])
        assert retried["message"].startswith(
            "Attempt 1 of 2 was interrupted (its worker stopped); trying again."
        )
        when(browser, running_with_progress)
        second.kill()
        second.wait()

    with site.worker("third"):
        failed = when(browser, lambda s: s["state"] == "failed")
        assert failed["message"] == (
            "Attempt 2 of 2 was interrupted (its worker stopped): given up. Your export could "
            "not be made. The site's administrators have been told."
        )
        assert wait_until(lambda: reports(site.inbox), 30)
        [report] = reports(site.inbox)
        assert re.fullmatch(
            r"Microblog Failure: Job export lost its worker \(no heartbeat for \d+ s\) on "
            r"attempt 2 of 2 in job export",
            report["Subject"],
        )
        assert report["To"] == ADMIN
        log = site.app_log()
        assert re.search(r"WARNING \[job-1\] Job export lost its worker .* attempt 1 of 2", log)
        assert re.search(r"ERROR \[job-1\] Job export lost its worker .* attempt 2 of 2", log)

        # The person tries again, and this time the worker is left alone.
        assert browser.submit("/account/export", {}).status == 302
        done = when(browser, lambda s: s["state"] == "done", 120)
    downloaded, data = browser.download(done["download"])
    assert downloaded == 200
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        posts = archive.read("posts.json")
    assert posts.count(b'"body": "Post ') == POSTS
    ready = [m for m in site.inbox.wait_for(2) if m["To"] == "writer@example.com"]
    assert [m["Subject"] for m in ready] == ["Your Microblog data export is ready"]
    print(
        f"\nexport of {POSTS} posts, one a batch: killed twice (retried, then given up: "
        f"{report['Subject']!r} mailed), then made by the third worker"
    )


def reports(inbox: Inbox) -> list:
    return [m for m in inbox.messages if m["Subject"].startswith("Microblog Failure")]
