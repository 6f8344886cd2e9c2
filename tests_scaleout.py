"""Scale-out check: two gunicorn instances share one PostgreSQL behind nginx.

    venv/bin/python -m pytest tests_scaleout.py -s

Everything runs on loopback and is stopped at the end: a private PostgreSQL (schema
made by ``flask db upgrade``), a local SMTP server, two separate gunicorn
instances of the real application with gunicorn.conf.py (same SECRET_KEY, own
log folders) and nginx (Debian's package, installed when missing) with
deploy/nginx/microblog.conf.
Without nginx or PostgreSQL the checks are skipped with the reason, except in CI
(CI=true), where that is a failure.
"""

import contextlib
import os
import re
import secrets
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller

from conftest import PASSWORD, libpq_url
from local_services.gunicorn import gunicorn_server
from local_services.nginx import (
    NginxUnavailable,
    find_or_install_nginx,
    nginx_server,
    with_upstream_servers,
)
from local_services.ports import free_port, wait_until
from local_services.postgres import (
    PostgresUnavailable,
    create_database,
    drop_database,
    private_postgres,
)
from tests_reporting import Inbox, context_of, running

ROOT = Path(__file__).resolve().parent
SITE_CONF = ROOT / "deploy" / "nginx" / "microblog.conf"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ERROR_REFERENCE = re.compile(r"Error reference: <code>([^<]+)</code>")
ADMIN = "ops@example.com"

# The real application plus one route that fails, for the error-report check.
CRASH_APP = """\
from microblog import app


@app.route("/boom")
def boom():
    raise RuntimeError("scale-out check failure")
"""
ACCESS_LOG_REQUEST_ID = re.compile(r" rid=(\S+)$", re.MULTILINE)


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


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def request_id(self) -> str:
        return self.headers["X-Request-ID"]


class Browser:
    """One person's browser: its own cookies, no automatic redirects."""

    def __init__(self, base_url: str, cookies: CookieJar | None = None) -> None:
        self.base_url = base_url
        self.cookies = cookies if cookies is not None else CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect
        )

    def at(self, base_url: str) -> "Browser":
        """The same browser (same cookies) talking to another address."""
        return Browser(base_url, self.cookies)

    def request(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.base_url + path, data=data, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=60) as reply:
                return Response(reply.status, dict(reply.headers), reply.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers), error.read().decode())

    def form(self, path: str) -> dict[str, str]:
        page = self.request(path)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status})"
        return {"csrf_token": match.group(1)}

    def register(self, username: str) -> Response:
        form = self.form("/register")
        email = f"{username}-{secrets.token_hex(4)}@example.com"
        fields = {"username": username, "email": email, "password": PASSWORD}
        return self.request("/register", {**form, **fields, "password2": PASSWORD})

    def login(self, username: str) -> Response:
        form = self.form("/login")
        return self.request("/login", {**form, "username": username, "password": PASSWORD})


def required(reason: str) -> None:
    """Skip with the reason, but fail in CI where the check must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("scaleout")
    try:
        find_or_install_nginx()
    except NginxUnavailable as reason:
        required(f"scale-out check needs nginx: {reason}")
    with contextlib.ExitStack() as stack:
        try:
            server_url = libpq_url(os.environ.get("TEST_DATABASE_URL", "")) or stack.enter_context(
                private_postgres()
            )
        except PostgresUnavailable as reason:
            required(f"scale-out check needs PostgreSQL: {reason}")
        database_name = f"microblog_scaleout_{os.getpid()}"
        database_url = create_database(server_url, database_name)
        stack.callback(drop_database, server_url, database_name)
        inbox = Inbox()
        smtp_port = free_port()
        stack.enter_context(running(Controller(inbox, hostname="127.0.0.1", port=smtp_port)))

        (workdir / "crash_app.py").write_text(CRASH_APP)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": f"{workdir}{os.pathsep}{ROOT}",
            "FLASK_APP": "microblog",
            "SECRET_KEY": secrets.token_hex(),
            # The Heroku-style spelling: config.py sends it through psycopg 3 too.
            "DATABASE_URL": database_url.replace("postgresql://", "postgres://", 1),
            "TRUSTED_PROXIES": "1",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "ADMINS": ADMIN,
            "LOG_TO_STDOUT": "0",
            # Limits on, but one client address (the test) does everything here.
            "RATELIMIT_AUTH": "1000 per minute",
        }
        upgrade = subprocess.run(  # noqa: S603 - fixed command
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=ROOT,
            env={**environment, "LOG_DIR": str(workdir)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert upgrade.returncode == 0, f"flask db upgrade failed:\n{upgrade.stderr}"
        instances = []
        for name in ("app1", "app2"):
            folder = workdir / name
            folder.mkdir()
            # The production settings, with the access log (it ends in rid=<id>) in a file.
            options = ["--config", str(ROOT / "gunicorn.conf.py")]
            options += ["--access-logfile", str(folder / "access.log")]
            url = stack.enter_context(
                gunicorn_server(
                    "crash_app:app",
                    {**environment, "LOG_DIR": str(folder / "logs")},
                    folder / "gunicorn.out",
                    options=options,
                    cwd=workdir,
                )
            )
            instances.append(Instance(name, url, folder))
        upstreams = [instance.url.removeprefix("http://") for instance in instances]
        site = with_upstream_servers(SITE_CONF.read_text(), upstreams)
        url = stack.enter_context(nginx_server(site, workdir / "nginx"))
        where = urllib.parse.urlsplit(database_url)
        print(f"\nnginx {url} -> {', '.join(upstreams)}; PostgreSQL {where.hostname}:{where.port}")
        yield Cluster(url, instances, database_url, inbox, workdir / "nginx")


def test_a_user_logged_in_through_one_server_stays_logged_in_through_the_other(cluster):
    first, second = cluster.instances
    browser = Browser(first.url)
    assert browser.register("carol").status == 302
    assert browser.login("carol").status == 302

    home = browser.at(second.url).request("/index")
    assert home.status == 200
    assert "Hi, carol!" in home.text

    # Through nginx, consecutive pages land on both servers and the user stays in.
    through_proxy = browser.at(cluster.url)
    pages = [through_proxy.request("/index") for _ in range(6)]
    assert [page.status for page in pages] == [200] * 6
    assert all("Hi, carol!" in page.text for page in pages)
    servers = Counter(cluster.instance_of(page.request_id) for page in pages)
    print(f"\nlogged in through {first.name}; 6 pages through nginx served by {dict(servers)}")
    assert set(servers) == {"app1", "app2"}


def test_racing_registrations_over_both_servers_make_one_account_and_no_500(cluster):
    count = 16
    browsers = [Browser(cluster.url) for _ in range(count)]
    forms = [browser.form("/register") for browser in browsers]
    barrier = threading.Barrier(count)
    replies: list[Response | None] = [None] * count

    def register(index: int) -> None:
        fields = {
            "username": "racer" if index % 2 else "RACER",
            "email": f"racer{index}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        }
        barrier.wait()
        replies[index] = browsers[index].request("/register", {**forms[index], **fields})

    threads = [threading.Thread(target=register, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

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
    browser = Browser(cluster.url)
    # Forged forwarding headers: nginx overwrites or extends them, and the app
    # (TRUSTED_PROXIES=1) believes only what nginx added.
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "X-Request-ID": "forged-id",
    }
    failures = [browser.request("/boom", headers=forged) for _ in range(4)]
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
            assert f"ERROR [{request_id}] Exception on /boom [GET]" in instance.app_log()
    # nginx writes its access line once the response has gone out, so it can trail
    # the client by a moment.
    access_log = cluster.nginx_dir / "access.log"
    for failure in failures:
        assert wait_until(lambda: failure.request_id in access_log.read_text(), 10)  # noqa: B023

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
        assert message["Subject"] == "Microblog Failure: RuntimeError at GET /boom"
        assert report["URL"] == f"{cluster.url}/boom"
        assert report["Client address"] == "127.0.0.1"
