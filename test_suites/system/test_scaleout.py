"""Scale-out check: two gunicorn instances share one PostgreSQL and one Redis behind nginx.

    venv/bin/python -m pytest test_suites/system/test_scaleout.py -s

Everything runs on loopback and is stopped at the end: PostgreSQL (schema made
by ``flask db upgrade``), Redis (the rate limits' counts), a local SMTP server,
two separate gunicorn instances of the real application plus testkit's failing
routes with deploy/gunicorn.conf.py (two workers each, same SECRET_KEY, own log
folders), a job worker (``flask jobs worker``, RQ on the same Redis) and nginx with
deploy/nginx/microblog.conf. Without nginx, PostgreSQL or
Redis the checks are skipped with the reason, except in CI (CI=true), where that
is a failure.
"""

import contextlib
import io
import json
import os
import re
import urllib.parse
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from testkit.clients import PASSWORD, Auth, LiveClient, Reply, register_all_at_once
from testkit.services.gunicorn import gunicorn_server
from testkit.services.nginx import (
    SITE_CONF,
    NginxUnavailable,
    find_nginx,
    nginx_server,
    with_upstream_servers,
)
from testkit.services.postgres import create_database, drop_database
from testkit.services.processes import unavailable, wait_until
from testkit.services.production import production_environment, upgrade_database
from testkit.services.redis import RedisUnavailable, redis_server
from testkit.services.smtp import Inbox, context_of, smtp_sink
from testkit.services.worker import job_worker

pytestmark = pytest.mark.system

ERROR_REFERENCE = re.compile(r"Error reference: <code>([^<]+)</code>")
ACCESS_LOG_REQUEST_ID = re.compile(r" rid=(\S+)$", re.MULTILINE)
ACCESS_LOG_WORKER = re.compile(r" <(\d+)> rid=(\S+)$", re.MULTILINE)
ADMIN = "ops@example.com"
CRASH_PATH = "/crash/"  # testkit.crashing: raises DeliberateFailure("boom")
WORKERS = 2  # per instance
# Per client address: room for the other checks' requests, which all come from
# nginx's one loopback client; per account: a handful of wrong passwords.
AUTH_LIMIT = 20
ACCOUNT_LIMIT = 5


@dataclass
class Instance:
    name: str
    url: str
    folder: Path

    def served(self) -> set[str]:
        """Request ids in this instance's access log."""
        return set(ACCESS_LOG_REQUEST_ID.findall((self.folder / "access.log").read_text()))

    def app_log(self) -> str:
        return "".join(path.read_text() for path in self.folder.glob("logs/microblog.log*"))

    def workers(self) -> dict[str, str]:
        """Which worker (pid) served each request id, from this instance's access log."""
        text = (self.folder / "access.log").read_text()
        return {rid: f"{self.name}:{pid}" for pid, rid in ACCESS_LOG_WORKER.findall(text)}


@dataclass
class Cluster:
    url: str
    instances: list[Instance]
    database_url: str
    inbox: Inbox
    nginx_dir: Path

    def instance_of(self, request_id: str) -> str:
        """Which instance served a request (its access line may lag the reply a little)."""

        def serving() -> list[str]:
            return [i.name for i in self.instances if request_id in i.served()]

        wait_until(serving, 30)
        names = serving()
        assert len(names) == 1, f"{request_id} served by {names}"
        return names[0]

    def count_users(self, username: str) -> int:
        with psycopg.connect(self.database_url) as connection:
            query = 'SELECT count(*) FROM "user" WHERE lower(username) = lower(%s)'
            return connection.execute(query, (username,)).fetchone()[0]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_server_url: str) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("scaleout")
    try:
        find_nginx()
    except NginxUnavailable as reason:
        unavailable(f"scale-out check needs nginx: {reason}")
    with contextlib.ExitStack() as stack:
        try:
            redis_url = stack.enter_context(redis_server())
        except RedisUnavailable as reason:
            unavailable(f"scale-out check needs Redis: {reason}")
        database_name = f"microblog_scaleout_{os.getpid()}"
        database_url = create_database(postgres_server_url, database_name)
        stack.callback(drop_database, postgres_server_url, database_name)
        smtp = stack.enter_context(smtp_sink())
        environment = production_environment(
            workdir,
            # The Heroku-style spelling: config.py sends it through psycopg 3 too.
            DATABASE_URL=database_url.replace("postgresql://", "postgres://", 1),
            TRUSTED_PROXIES="1",
            MAIL_SERVER=smtp.host,
            MAIL_PORT=str(smtp.port),
            ADMINS=ADMIN,
            # Every worker of both instances counts in the one Redis.
            RATELIMIT_STORAGE_URI=redis_url,
            RATELIMIT_AUTH=f"{AUTH_LIMIT} per minute",
            RATELIMIT_ACCOUNT=f"{ACCOUNT_LIMIT} per minute",
            # The exports' folder, shared by both servers and the worker.
            EXPORT_DIR=str(workdir / "exports"),
        )
        upgrade_database(environment)
        # Jobs queued in the Redis of the rate limits (JOBS_QUEUE), run by one worker.
        stack.enter_context(job_worker(environment, workdir / "worker.out"))
        instances = []
        for name in ("app1", "app2"):
            folder = workdir / name
            folder.mkdir()
            # The production settings, with the access log (it ends in rid=<id>) in a file.
            server = stack.enter_context(
                gunicorn_server(
                    "testkit.crashing_app:app",
                    environment={**environment, "LOG_DIR": str(folder / "logs")},
                    output=folder / "gunicorn.out",
                    workers=WORKERS,
                    options=["--access-logfile", str(folder / "access.log")],
                )
            )
            instances.append(Instance(name, server.url, folder))
        upstreams = [instance.url.removeprefix("http://") for instance in instances]
        site = with_upstream_servers(SITE_CONF.read_text(), upstreams)
        url = stack.enter_context(nginx_server(site, workdir / "nginx"))
        where = urllib.parse.urlsplit(database_url)
        print(
            f"\nnginx {url} -> {', '.join(upstreams)} ({WORKERS} workers each); "
            f"PostgreSQL {where.hostname}:{where.port}; Redis {redis_url}"
        )
        yield Cluster(url, instances, database_url, smtp.inbox, workdir / "nginx")


def test_a_user_logged_in_through_one_server_stays_logged_in_through_the_other(cluster):
    first, second = cluster.instances
    browser = LiveClient(first.url)
    auth = Auth(browser)
    registered = auth.register("carol")  # registering signs the new user in
    assert (registered.status, registered.headers["Location"]) == (302, "/index")

    home = browser.at(second.url).get("/index")
    assert home.status == 200
    assert "Hi, carol!" in home.text

    # Through nginx, consecutive pages land on both servers and the user stays in.
    through_proxy = browser.at(cluster.url)
    pages = [through_proxy.get("/index") for _ in range(6)]
    assert [page.status for page in pages] == [200] * 6
    assert all("Hi, carol!" in page.text for page in pages)
    servers = Counter(cluster.instance_of(page.request_id) for page in pages)
    print(f"\nlogged in through {first.name}; 6 pages through nginx served by {dict(servers)}")
    assert set(servers) == {"app1", "app2"}


def test_racing_registrations_over_both_servers_make_one_account_and_no_500(cluster):
    count = 16
    replies = register_all_at_once(
        cluster.url, ["racer" if i % 2 else "RACER" for i in range(count)]
    )

    statuses = Counter(reply.status for reply in replies)
    servers = Counter(cluster.instance_of(reply.request_id) for reply in replies)
    print(f"\n{count} racing registrations: statuses {dict(statuses)}, servers {dict(servers)}")
    assert statuses == {302: 1, 200: count - 1}
    for reply in replies:
        if reply.status == 200:
            assert "Please use a different username." in reply.text
    assert cluster.count_users("racer") == 1
    assert set(servers) == {"app1", "app2"}


def test_error_reports_and_log_lines_from_both_servers_carry_their_request_ids(cluster):
    browser = LiveClient(cluster.url)
    # Forged forwarding headers: nginx overwrites or extends them, and the app
    # (TRUSTED_PROXIES=1) believes only what nginx added.
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "X-Request-ID": "forged-id",
    }
    failures = [browser.get(CRASH_PATH, headers=forged) for _ in range(4)]
    assert [failure.status for failure in failures] == [500] * 4
    by_server: dict[str, list[str]] = {"app1": [], "app2": []}
    for failure in failures:
        # nginx's $request_id: 32 hex digits, the same on the page and in the header.
        assert re.fullmatch(r"[0-9a-f]{32}", failure.request_id)
        assert ERROR_REFERENCE.search(failure.text).group(1) == failure.request_id
        by_server[cluster.instance_of(failure.request_id)].append(failure.request_id)
    assert all(by_server.values()), by_server

    for instance in cluster.instances:
        for request_id in by_server[instance.name]:
            assert wait_until(lambda: request_id in instance.app_log(), 30)  # noqa: B023
            assert f"ERROR [{request_id}] Exception on {CRASH_PATH} [GET]" in instance.app_log()
    # nginx writes its access line once the response has gone out, so it can trail
    # the client by a moment.
    access_log = cluster.nginx_dir / "access.log"
    for failure in failures:
        assert wait_until(lambda: failure.request_id in access_log.read_text(), 30)  # noqa: B023

    # Each worker process mails the first failure of a kind at once (storm control
    # counts the repeats), so both servers have mailed at least one report.
    def mailed_by_both() -> bool:
        mailed = {context_of(m).get("Request id") for m in cluster.inbox.messages}
        return all(mailed & set(ids) for ids in by_server.values())

    assert wait_until(mailed_by_both, 30), cluster.inbox.messages
    messages = list(cluster.inbox.messages)
    reports = [context_of(message) for message in messages]
    mailed = Counter(cluster.instance_of(report["Request id"]) for report in reports)
    print(f"\n4 failures through nginx: {by_server}; reports mailed per server {dict(mailed)}")
    for message, report in zip(messages, reports, strict=True):
        assert message["Subject"] == f"Microblog Failure: DeliberateFailure at GET {CRASH_PATH}"
        assert report["URL"] == f"{cluster.url}{CRASH_PATH}"
        assert report["Client address"] == "127.0.0.1"


def test_the_login_limit_holds_across_both_servers_and_all_four_workers(cluster):
    # One client address, as nginx names it to the application servers
    # (X-Forwarded-For, believed with TRUSTED_PROXIES=1); the attempts go straight
    # to both servers, several at a time, so that every worker takes some.
    address = {"X-Forwarded-For": "198.51.100.77"}
    browsers = [LiveClient(instance.url, headers=address) for instance in cluster.instances]
    tokens = [browser.csrf_token("/login") for browser in browsers]
    count = AUTH_LIMIT + 12

    def attempt(number: int) -> Reply:
        browser, token = browsers[number % 2], tokens[number % 2]
        # An empty password: refused without a password hash, counted all the same.
        return browser.post("/login", {"csrf_token": token, "username": "nobody", "password": ""})

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(attempt, range(count)))

    statuses = Counter(reply.status for reply in replies)
    ids = {reply.request_id for reply in replies}
    assert wait_until(
        lambda: ids <= set().union(*(i.workers().keys() for i in cluster.instances)), 30
    )
    served = {}
    for instance in cluster.instances:
        served |= instance.workers()
    workers = Counter(served[reply.request_id] for reply in replies)
    print(
        f"\n{count} login attempts from one address, limit {AUTH_LIMIT} per minute: statuses "
        f"{dict(statuses)}; served by {len(workers)} worker processes {dict(workers)}"
    )
    assert statuses == {200: AUTH_LIMIT, 429: count - AUTH_LIMIT}
    assert len(workers) == 2 * WORKERS


def test_one_account_is_locked_across_both_servers_whatever_the_addresses(cluster):
    assert Auth(LiveClient(cluster.url)).register("dave").status == 302

    def login(number: int, password: str) -> Reply:
        instance = cluster.instances[number % 2]
        browser = LiveClient(instance.url, headers={"X-Forwarded-For": f"203.0.113.{number}"})
        return Auth(browser).login("dave", password)

    wrong = [login(number, "not daves password") for number in range(ACCOUNT_LIMIT)]
    right = [login(ACCOUNT_LIMIT + number, PASSWORD) for number in range(2)]
    answers = [(reply.status, reply.headers["Location"]) for reply in wrong + right]
    print(
        f"\n{ACCOUNT_LIMIT} wrong passwords for one account from {ACCOUNT_LIMIT} addresses over "
        f"both servers, then the right one twice: {answers}"
    )
    assert set(answers) == {(302, "/login")}


def test_an_export_and_a_deletion_run_on_the_worker_whoever_served_them(cluster):
    first, second = cluster.instances
    # Registering and the deletion check a password: counted per address, so they
    # come (straight to the servers, which trust the header) from an address of
    # their own, not nginx's 127.0.0.1, whose allowance the other checks spend.
    own_address = {"X-Forwarded-For": "203.0.113.200"}
    direct = LiveClient(first.url, headers=own_address)
    assert Auth(direct).register("leaver").status == 302
    browser = direct.at(cluster.url)
    for text in ("First words", "Last words #bye"):
        assert browser.submit("/index", {"body": text}).status == 302
    assert browser.submit("/account/export", {}).status == 302

    def export_status() -> dict:
        return json.loads(browser.get("/account/export/status").text)

    done = wait_until(lambda: (found := export_status())["state"] == "done" and found, 60)
    assert done, export_status()
    # The file the worker wrote, downloaded from each server in turn.
    for instance in cluster.instances:
        status, data = browser.at(instance.url).download(done["download"])
        assert status == 200
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            posts = json.loads(archive.read("posts.json"))
        assert sorted(post["body"] for post in posts) == ["First words", "Last words #bye"]

    asked = direct.at(second.url).submit("/account/delete", {"password": PASSWORD})
    assert (asked.status, asked.headers["Location"]) == (302, "/login")
    assert wait_until(lambda: cluster.count_users("leaver") == 0, 60)
    subjects = [m["Subject"] for m in cluster.inbox.messages if m["To"] == "leaver@example.com"]
    assert wait_until(
        lambda: (
            "Your Microblog account has been deleted"
            in [m["Subject"] for m in cluster.inbox.messages if m["To"] == "leaver@example.com"]
        ),
        30,
    ), subjects
    print("\nexport made by the worker and downloaded from both servers; account deleted")
