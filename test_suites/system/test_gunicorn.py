"""deploy/gunicorn.conf.py: what gunicorn really loads from it, and the server it then runs."""

import contextlib
import re
import socket
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from testkit.clients import Auth, LiveClient
from testkit.services.gunicorn import GUNICORN_CONF, gunicorn_server
from testkit.services.production import production_environment, run_python, upgrade_database

pytestmark = pytest.mark.system


def check_gunicorn_config(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess:
    """Let gunicorn read the settings file, load the app and print its resolved settings."""
    return run_python(
        production_environment(tmp_path, **environment),
        *("-m", "gunicorn", "-c", str(GUNICORN_CONF), "--print-config"),
        timeout=60,
    )


def resolved_gunicorn_settings(tmp_path: Path, **environment: str) -> str:
    result = check_gunicorn_config(tmp_path, **environment)
    assert result.returncode == 0, result.stderr
    return result.stdout


def setting(printed: str, name: str) -> str:
    match = re.search(rf"^{name}\s*=\s*(.*)$", printed, re.MULTILINE)
    assert match, f"{name} missing from gunicorn --print-config"
    return match.group(1).strip()


def test_gunicorn_conf_defaults_to_two_workers_on_loopback_without_control_socket(
    tmp_path: Path,
):
    printed = resolved_gunicorn_settings(tmp_path)
    assert setting(printed, "workers") == "2"
    assert setting(printed, "bind") == "['127.0.0.1:8000']"
    assert setting(printed, "preload_app") == "False"
    assert setting(printed, "timeout") == "30"
    assert setting(printed, "graceful_timeout") == "30"
    assert setting(printed, "accesslog") == "-"
    assert setting(printed, "control_socket_disable") == "True"
    assert setting(printed, "wsgi_app") == "microblog:app"


def test_gunicorn_conf_reads_workers_and_bind_from_the_environment(tmp_path: Path):
    printed = resolved_gunicorn_settings(tmp_path, WEB_CONCURRENCY="5", PORT="9123")
    assert setting(printed, "workers") == "5"
    assert setting(printed, "bind") == "['127.0.0.1:9123']"
    printed = resolved_gunicorn_settings(
        tmp_path, GUNICORN_BIND="unix:/run/microblog.sock", PORT="9123"
    )
    assert setting(printed, "bind") == "['unix:/run/microblog.sock']"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [("PORT", "eighty", "is not a whole number"), ("WEB_CONCURRENCY", "0", "must be 1 or more")],
)
def test_gunicorn_conf_refuses_a_number_that_is_not_one_or_more(
    tmp_path: Path, name, raw, message
):
    result = check_gunicorn_config(tmp_path, **{name: raw})
    assert result.returncode != 0
    assert f"{name}={raw!r} {message}" in result.stdout + result.stderr


def test_access_log_lines_carry_the_request_id_the_response_had(tmp_path: Path):
    # Behind a proxy (TRUSTED_PROXIES=1), whose X-Request-ID the app adopts.
    environment = production_environment(tmp_path, RATELIMIT_ENABLED="0", TRUSTED_PROXIES="1")
    # The settings file sends the access log to standard output: into this file.
    output = tmp_path / "gunicorn.out"
    with gunicorn_server(environment=environment, output=output, workers=1) as server:
        browser = LiveClient(server.url)
        page = browser.get("/login")
        assert page.status == 200
        request_id = page.request_id
        assert browser.get("/login", headers={"X-Request-ID": "lb-42"}).request_id == "lb-42"
    lines = output.read_text().splitlines()
    served = [line for line in lines if '"GET /login HTTP/1.1" 200' in line]
    assert any(line.endswith(f"rid={request_id}") for line in served)
    assert any(line.endswith("rid=lb-42") for line in served)


@pytest.mark.parametrize("line_break", ["%0A", "%0D%0A", "%E2%80%A8", "%C2%85"])
def test_a_reset_link_with_line_breaks_cannot_forge_an_access_log_line(tmp_path, line_break):
    # The token is struck from the decoded path, which is then written encoded again.
    environment = production_environment(tmp_path, RATELIMIT_ENABLED="0")
    output = tmp_path / "gunicorn.out"
    forged = '127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /forged HTTP/1.1" 200'
    path = f"/reset_password/t0ken{line_break}" + quote(forged, safe="")
    with gunicorn_server(environment=environment, output=output, workers=1) as server:
        assert LiveClient(server.url).get(path).status == 404  # reset is off: no SITE_URL
    text = output.read_text()
    assert text.splitlines() == text.rstrip("\n").split("\n")  # only "\n" ends a line
    assert not [line for line in text.splitlines() if line.startswith(forged[:20])]
    [served] = [line for line in text.splitlines() if "/reset_password/" in line]
    assert '"GET /reset_password/[masked]' in served
    assert "t0ken" not in text


@pytest.mark.parametrize(
    ("workers", "storage", "warned"),
    [(2, "memory://", True), (1, "memory://", False), (2, "redis://127.0.0.1:9/0", False)],
)
def test_several_workers_counting_rate_limits_in_memory_are_warned_about_once(
    tmp_path: Path, workers: int, storage: str, warned: bool
):
    environment = production_environment(tmp_path, RATELIMIT_STORAGE_URI=storage)
    log = Path(environment["LOG_DIR"]) / "microblog.log"
    with gunicorn_server(
        environment=environment, output=tmp_path / "gunicorn.out", workers=workers
    ) as server:
        assert LiveClient(server.url).get("/login").status == 200
    text = log.read_text()
    assert text.count("Microblog startup") == workers
    warnings = text.count(f"WARNING [-] RATELIMIT_STORAGE_URI is memory:// with {workers} workers")
    assert warnings == (1 if warned else 0)


def post_chunked(url: str, path: str, cookies: str, body: bytes, chunk: int = 4096) -> int:
    """POST ``body`` with Transfer-Encoding: chunked and no Content-Length; the status."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=30) as connection:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookies}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        connection.sendall(head.encode())
        with contextlib.suppress(OSError):  # the server may answer before reading it all
            for start in range(0, len(body), chunk):
                part = body[start : start + chunk]
                connection.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            connection.sendall(b"0\r\n\r\n")
        status_line = connection.makefile("rb").readline()
    return int(status_line.split()[1])


def test_a_chunked_body_over_max_content_length_is_refused_not_cut(tmp_path: Path):
    limit = 20_000
    environment = production_environment(tmp_path, MAX_CONTENT_LENGTH=str(limit))
    upgrade_database(environment)
    with gunicorn_server(environment=environment, output=tmp_path / "gunicorn.out") as server:
        browser = LiveClient(server.url)
        auth = Auth(browser)
        assert auth.register("alice").status == 302  # and signed in
        token = browser.csrf_token("/index")
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)

        def form(body: str, size: int) -> bytes:
            start = f"csrf_token={token}&body={body}&pad=".encode()
            return start + b"x" * (size - len(start))

        statuses = {
            size: post_chunked(server.url, "/index", cookies, form(f"size{size}", size))
            for size in (limit + 1, limit + 5000, 3 * limit, limit)
        }
    print(f"\nchunked bodies through gunicorn, limit {limit} bytes: {statuses}")
    assert statuses == {limit + 1: 413, limit + 5000: 413, 3 * limit: 413, limit: 302}
    database = environment["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        posts = connection.execute("SELECT body FROM post").fetchall()
    assert posts == [(f"size{limit}",)]
