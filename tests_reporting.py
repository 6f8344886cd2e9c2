"""Tests of error reporting: emails to a real SMTP server, log files, request ids."""

import contextlib
import gc
import logging
import re
import socket
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask, current_app
from werkzeug.debug import DebuggedApplication
from werkzeug.test import Client

from app import db
from app.error_reports import Report
from app.models import User
from app.report_mailer import StormControl
from config import ConfigError
from conftest import Auth, build_app, make_user

ROOT = Path(__file__).resolve().parent
ADMIN = "ops@example.com"
SECRET_KEY = "s3cr3t-signing-key-that-must-never-leak-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], seconds: float = 10) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    return condition()


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, seconds: float = 10) -> list[EmailMessage]:
        wait_for(lambda: len(self.messages) >= count, seconds)
        return self.messages

    def settle(self, seconds: float = 1.0) -> list[EmailMessage]:
        """Give stray (unwanted) messages a moment to arrive, then return them all."""
        time.sleep(seconds)
        return self.messages


def body_of(message: EmailMessage) -> str:
    return message.get_content().replace("\r\n", "\n")


def context_of(message: EmailMessage) -> dict[str, str]:
    """The "Label:  value" lines at the top of a report."""
    return dict(re.findall(r"^([A-Z][A-Za-z ]+):\s+(.*)$", body_of(message), re.MULTILINE))


@contextlib.contextmanager
def running(controller: Controller) -> Iterator[Controller]:
    """Run an aiosmtpd server for the duration of a ``with`` block."""
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
        # A connection the mailer thread had not yet closed when the test ended stays
        # open on aiosmtpd's stopped loop and is left to the garbage collector, which
        # warns. Collect it here, where that is expected, rather than in a later test.
        del controller
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    with running(Controller(inbox, hostname="127.0.0.1", port=port)):
        yield inbox, port


@pytest.fixture
def production_app(tmp_path) -> Iterator[Callable[..., Flask]]:
    """Build apps as production runs them (not debug, not testing), with a crash route."""
    built: list[Flask] = []

    def build(**settings) -> Flask:
        defaults = {
            "TESTING": False,
            "SECRET_KEY": SECRET_KEY,
            "LOG_DIR": str(tmp_path / "logs"),
            "ADMINS": [ADMIN],
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_TIMEOUT": 2,
        }
        app = build_app(**{**defaults, **settings})

        @app.route("/boom")
        def boom():
            raise RuntimeError("boom")

        @app.route("/other")
        def other():
            raise KeyError("other")

        with app.app_context():
            db.create_all()
        built.append(app)
        return app

    yield build
    for app in built:
        sender = app.extensions.get("report_sender")
        if sender:
            sender.stop()
    for handler in [h for h in logging.getLogger("app").handlers if getattr(h, "microblog", 0)]:
        logging.getLogger("app").removeHandler(handler)
        handler.close()


def log_text(app: Flask) -> str:
    return "".join(path.read_text() for path in sorted(Path(app.config["LOG_DIR"]).glob("*.log*")))


# --- Email reports --------------------------------------------------------------------


def test_a_crash_is_mailed_once_with_traceback_and_request_context(smtp_server, production_app):
    inbox, port = smtp_server
    app = production_app(MAIL_PORT=port)
    client = app.test_client()
    with app.app_context():
        make_user("alice")
    Auth(client).login()

    response = client.get("/boom?page=2&api_key=k3y-v4lue", headers={"User-Agent": "probe/1.0"})
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]

    messages = inbox.wait_for(1)
    assert len(inbox.settle(0.5)) == 1
    message = messages[0]
    assert message["Subject"] == "Microblog Failure: RuntimeError at GET /boom"
    assert message["From"] == "no-reply@127.0.0.1"
    assert message["To"] == ADMIN
    body = body_of(message)
    assert "Traceback (most recent call last):" in body
    assert 'raise RuntimeError("boom")' in body
    context = context_of(message)
    assert context["Request id"] == request_id
    assert context["Method"] == "GET"
    assert context["URL"] == "http://localhost/boom?page=2&api_key=[masked]"
    assert context["Endpoint"] == "boom"
    assert context["User"] == "id 1 (alice)"
    assert context["Client address"] == "127.0.0.1"
    assert context["User agent"] == "probe/1.0"
    assert context["Form fields"] == "(none)"
    assert "k3y-v4lue" not in body


def test_a_crash_while_logging_in_leaks_no_secret(smtp_server, production_app, monkeypatch):
    inbox, port = smtp_server
    app = production_app(MAIL_PORT=port, MAIL_PASSWORD="mail-pa55word")
    secret_password = "hunter2-but-longer"

    def failing_check(user, password):
        # The worst case: the secret ends up in the exception message itself.
        raise RuntimeError(
            f"hash backend down checking {password} with {current_app.secret_key} "
            f"and {current_app.config['MAIL_PASSWORD']}"
        )

    monkeypatch.setattr(User, "check_password", failing_check)
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    session_cookie = client.get_cookie("session").value
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": "alice", "password": secret_password},
        headers={"Authorization": "Bearer bearer-token-value"},
    )
    assert response.status_code == 500

    body = body_of(inbox.wait_for(1)[0])
    assert context_of(inbox.messages[0])["Form fields"] == "csrf_token, username, password"
    assert "hash backend down checking [masked] with [masked] and [masked]" in body
    written = [body, inbox.messages[0]["Subject"], log_text(app), response.get_data(as_text=True)]
    for secret in (
        secret_password,
        SECRET_KEY,
        "mail-pa55word",
        token,
        session_cookie,
        "bearer-token-value",
    ):
        for text in written:
            assert secret not in text


def test_a_blackholed_smtp_server_does_not_delay_the_request(production_app):
    # A server that accepts connections (the kernel completes the handshake) and
    # never says a word: the SMTP client would wait for its full timeout.
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(8)
        app = production_app(MAIL_PORT=blackhole.getsockname()[1], MAIL_TIMEOUT=3)
        client = app.test_client()

        started = time.perf_counter()
        response = client.get("/boom")
        elapsed = time.perf_counter() - started
        assert response.status_code == 500
        # The request came back before the SMTP attempt could even time out.
        assert "Could not send error report" not in log_text(app)
        print(f"\nerroring request with a blackholed SMTP server answered in {elapsed:.3f} s")

        failure = wait_for(lambda: "Could not send error report" in log_text(app), 10)
        assert failure, "the failed send was not written to the log file"
        assert "TimeoutError" in log_text(app) or "timed out" in log_text(app)


def test_a_refused_connection_is_logged_not_raised(production_app):
    app = production_app(MAIL_PORT=free_port())
    assert app.test_client().get("/boom").status_code == 500
    assert wait_for(lambda: "ConnectionRefusedError" in log_text(app))


def test_fifty_identical_failures_give_one_email_and_one_digest(smtp_server, production_app):
    inbox, port = smtp_server
    app = production_app(MAIL_PORT=port, ERROR_EMAIL_WINDOW=2)
    client = app.test_client()
    ids = [client.get("/boom").headers["X-Request-ID"] for _ in range(50)]

    assert len(inbox.wait_for(1)) >= 1
    messages = inbox.wait_for(2, seconds=6)
    assert len(inbox.settle(1)) == 2
    first, digest = messages
    assert first["Subject"] == "Microblog Failure: RuntimeError at GET /boom"
    assert (
        digest["Subject"]
        == "Microblog Failure: RuntimeError at GET /boom (repeated 49 more times)"
    )
    digest_body = body_of(digest)
    assert "happened 49 more times within 2 seconds" in digest_body
    assert ids[1] in digest_body and ids[-1] in digest_body
    print(f"\n50 identical failures gave {len(messages)} emails")


def test_two_different_failures_give_two_emails(smtp_server, production_app):
    inbox, port = smtp_server
    app = production_app(MAIL_PORT=port)
    client = app.test_client()
    client.get("/boom")
    client.get("/other")
    subjects = {message["Subject"] for message in inbox.wait_for(2)}
    assert subjects == {
        "Microblog Failure: RuntimeError at GET /boom",
        "Microblog Failure: KeyError at GET /other",
    }


def test_an_error_logged_without_exception_is_mailed_too(smtp_server, production_app):
    inbox, port = smtp_server
    app = production_app(MAIL_PORT=port)

    @app.route("/declined")
    def declined():
        current_app.logger.error("payment provider declined %s", "order 7")
        return "sorry"

    app.test_client().get("/declined")
    message = inbox.wait_for(1)[0]
    assert (
        message["Subject"]
        == "Microblog Failure: payment provider declined order 7 at GET /declined"
    )
    assert "(no traceback)" in body_of(message)


def test_a_failure_after_its_window_is_mailed_again():
    storms = StormControl(window_seconds=10)
    report = Report("subject", "body", "RuntimeError | app/x.py:1 | boom", "r1")
    assert storms.admit(report, now=0) is True
    assert storms.admit(report, now=5) is False
    assert storms.close_windows(now=9) == []
    assert [subject for subject, _ in storms.close_windows(now=10)] == [
        "subject (repeated 1 more times)"
    ]
    assert storms.admit(report, now=11) is True


def test_control_characters_in_the_path_cannot_forge_mail_headers(smtp_server, production_app):
    inbox, port = smtp_server
    app = production_app(MAIL_PORT=port)

    @app.route("/crash/<rest>")
    def crash(rest):
        raise RuntimeError("crash")

    app.test_client().get("/crash/x%0D%0ABcc:%20victim@example.com")
    message = inbox.wait_for(1)[0]
    assert message["Bcc"] is None
    assert (
        message["Subject"]
        == "Microblog Failure: RuntimeError at GET /crash/x??Bcc: victim@example.com"
    )


def test_pending_reports_are_flushed_when_the_process_exits(smtp_server, tmp_path):
    inbox, port = smtp_server
    script = textwrap.dedent(
        f"""
        import os
        from app import create_app
        from config import Config

        os.environ.update(
            SECRET_KEY={SECRET_KEY!r}, DATABASE_URL="sqlite://", MAIL_SERVER="127.0.0.1",
            MAIL_PORT="{port}", ADMINS="{ADMIN}", LOG_DIR={str(tmp_path)!r},
        )
        app = create_app(Config)

        @app.route("/boom")
        def boom():
            raise RuntimeError("boom")

        client = app.test_client()
        for _ in range(3):
            assert client.get("/boom").status_code == 500
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)  # noqa: S603
    # The process is gone: whatever it had queued must already be here.
    subjects = [message["Subject"] for message in inbox.messages]
    assert subjects == [
        "Microblog Failure: RuntimeError at GET /boom",
        "Microblog Failure: RuntimeError at GET /boom (repeated 2 more times)",
    ]


# --- Encryption and login -------------------------------------------------------------


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
    command += " -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(  # noqa: S603
        [*command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key


@pytest.fixture
def trusted(certificate, monkeypatch) -> ssl.SSLContext:
    """Trust the test certificate the way an operator's CA bundle would be trusted."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    return server_context


class Credentials:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.seen.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=auth_data.password == b"mail-pa55word")
        return AuthResult(success=False)


def test_starttls_with_login_reaches_the_server(trusted, production_app):
    inbox, credentials, port = Inbox(), Credentials(), free_port()
    with running(
        Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            tls_context=trusted,
            require_starttls=True,
            auth_required=True,
            authenticator=credentials,
        )
    ):
        app = production_app(
            MAIL_PORT=port,
            MAIL_USE_TLS=True,
            MAIL_USERNAME="reporter",
            MAIL_PASSWORD="mail-pa55word",
        )
        app.test_client().get("/boom")
        message = inbox.wait_for(1)[0]
    assert message["Subject"] == "Microblog Failure: RuntimeError at GET /boom"
    assert credentials.seen == [("reporter", "mail-pa55word")]
    assert "mail-pa55word" not in body_of(message) + log_text(app)


def test_implicit_tls_reaches_the_server(trusted, production_app):
    inbox, port = Inbox(), free_port()
    with running(Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=trusted)):
        app = production_app(MAIL_PORT=port, MAIL_USE_SSL=True)
        app.test_client().get("/boom")
        message = inbox.wait_for(1)[0]
    assert message["Subject"] == "Microblog Failure: RuntimeError at GET /boom"


def test_tls_refuses_a_server_with_an_untrusted_certificate(certificate, production_app):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    with running(Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context)):
        app = production_app(MAIL_PORT=port, MAIL_USE_SSL=True)
        app.test_client().get("/boom")
        assert wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in log_text(app))
    assert inbox.messages == []


def test_tls_and_ssl_together_are_a_configuration_error(production_app):
    with pytest.raises(ConfigError, match="exclude each other"):
        production_app(MAIL_USE_TLS=True, MAIL_USE_SSL=True)


# --- The operator's test command ------------------------------------------------------


def test_send_test_report_prints_that_the_server_accepted_it(smtp_server):
    inbox, port = smtp_server
    app = build_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, ADMINS=[ADMIN])
    result = app.test_cli_runner().invoke(args=["send-test-report"])
    assert result.exit_code == 0, result.output
    assert (
        f"The SMTP server 127.0.0.1:{port} accepted the test report for {ADMIN}." in result.output
    )
    message = inbox.messages[0]
    assert message["Subject"] == "Microblog Failure: RuntimeError"
    assert "This is a test report from flask send-test-report." in body_of(message)


def test_send_test_report_explains_a_failure():
    app = build_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), ADMINS=[ADMIN])
    result = app.test_cli_runner().invoke(args=["send-test-report"])
    assert result.exit_code == 1
    assert "The report was not sent to 127.0.0.1" in result.output
    assert "ConnectionRefusedError" in result.output


def test_send_test_report_needs_mail_settings():
    result = build_app().test_cli_runner().invoke(args=["send-test-report"])
    assert result.exit_code == 1
    assert "Set MAIL_SERVER and ADMINS" in result.output


# --- Log files ------------------------------------------------------------------------


LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) \[(?P<rid>[^\]]+)\] "
    r"(?P<message>.*) \[in (?P<path>\S+):(?P<line>\d+)\]$",
    re.MULTILINE,
)


def test_log_lines_carry_time_level_request_id_and_place(production_app):
    app = production_app(MAIL_SERVER=None)

    @app.route("/note")
    def note():
        current_app.logger.info("a note from the view")
        return "ok"

    response = app.test_client().get("/note")
    lines = [match.groupdict() for match in LINE.finditer(log_text(app))]
    assert lines[0]["message"] == "Microblog startup"
    assert lines[0]["rid"] == "-"
    assert {
        "level": "INFO",
        "rid": response.headers["X-Request-ID"],
        "message": "a note from the view",
        "path": __file__,
        "line": str(note.__code__.co_firstlineno + 2),
    } in lines
    assert Path(app.config["LOG_DIR"], "microblog.log").exists()


def test_unhandled_errors_are_logged_once_with_their_traceback(production_app):
    app = production_app(MAIL_SERVER=None)
    response = app.test_client().get("/boom")
    text = log_text(app)
    assert text.count("Exception on /boom [GET]") == 1
    assert f"ERROR [{response.headers['X-Request-ID']}] Exception on /boom [GET]" in text
    assert "RuntimeError: boom" in text


def test_log_files_rotate_by_size(production_app):
    app = production_app(MAIL_SERVER=None, LOG_MAX_BYTES=2000, LOG_BACKUP_COUNT=2)
    client = app.test_client()
    for _ in range(20):
        client.get("/boom")
    names = sorted(path.name for path in Path(app.config["LOG_DIR"]).glob("microblog.log*"))
    assert names == ["microblog.log", "microblog.log.1", "microblog.log.2"]
    assert all(path.stat().st_size <= 4000 for path in Path(app.config["LOG_DIR"]).glob("*.log*"))


def test_log_to_stdout_writes_the_same_lines_to_standard_output(production_app, capsys):
    app = production_app(MAIL_SERVER=None, LOG_TO_STDOUT=True)
    response = app.test_client().get("/boom")
    out = capsys.readouterr().out
    assert "INFO [-] Microblog startup" in out
    assert f"ERROR [{response.headers['X-Request-ID']}] Exception on /boom [GET]" in out
    assert not Path(app.config["LOG_DIR"]).exists()


def test_debug_mode_sends_no_email_and_writes_no_log_file(smtp_server, production_app):
    inbox, port = smtp_server
    app = production_app(DEBUG=True, MAIL_PORT=port)
    response = Client(DebuggedApplication(app, evalex=True)).get("/boom")
    assert "Werkzeug Debugger" in response.get_data(as_text=True)
    assert inbox.settle(1) == []
    assert not Path(app.config["LOG_DIR"]).exists()


# --- Request ids ----------------------------------------------------------------------


def test_every_response_has_a_fresh_request_id(client):
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/missing").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/login", headers={"X-Request-ID": "lb-7f3a.9_x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.9_x"


@pytest.mark.parametrize("incoming", ["", "has space", "a" * 129, "<script>", "-leading", "é"])
def test_an_odd_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/login", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_the_500_page_shows_its_error_reference(production_app):
    response = production_app(MAIL_SERVER=None).test_client().get("/boom")
    reference = response.headers["X-Request-ID"]
    assert f"Error reference: <code>{reference}</code>" in response.get_data(as_text=True)


def test_a_json_500_carries_its_reference(production_app):
    client = production_app(MAIL_SERVER=None).test_client()
    response = client.get("/boom", headers={"Accept": "application/json"})
    assert response.json["reference"] == response.headers["X-Request-ID"]


# --- Several worker processes ---------------------------------------------------------


CRASH_APP = """
from app import create_app

app = create_app()


@app.route("/boom/<int:number>")
def boom(number):
    raise RuntimeError(f"boom {number}")
"""


def test_four_gunicorn_workers_lose_no_error_record_across_rotations(tmp_path):
    (tmp_path / "crash_app.py").write_text(CRASH_APP)
    log_dir = tmp_path / "logs"
    port = free_port()
    environment = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "LOG_DIR": str(log_dir),
        "LOG_MAX_BYTES": "20000",
        "LOG_BACKUP_COUNT": "200",
    }
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}", "crash_app:app"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def fail(number: int) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/boom/{number}", headers={"X-Request-ID": f"req-{number}"}
        )
        try:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback
        except urllib.error.HTTPError as error:
            return error.code
        return 200

    try:
        assert wait_for(lambda: (log_dir / "microblog.log").exists(), 30)
        wait_for(lambda: log_text_in(log_dir).count("Microblog startup") == 4, 30)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(fail, range(200)))
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert statuses == [500] * 200
    files = list(log_dir.glob("microblog.log*"))
    assert len(files) > 5, "rotation was not forced"
    intact = intact_error_records(log_text_in(log_dir))
    print(f"\n{len(intact)} of 200 error records found intact in {len(files)} files")
    assert intact == {f"req-{number}" for number in range(200)}
    assert log_text_in(log_dir).count("Microblog startup") == 4


def log_text_in(log_dir: Path) -> str:
    return "".join(path.read_text() for path in log_dir.glob("microblog.log*"))


def intact_error_records(text: str) -> set[str]:
    """Request ids whose record is whole: header line, traceback, matching last line."""
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} )", text.strip())
    intact = set()
    for record in records:
        header = re.match(
            r"\S+ \S+ ERROR \[req-(\d+)\] Exception on /boom/(\d+) \[GET\] \[in \S+:\d+\]\n"
            r"Traceback \(most recent call last\):\n",
            record,
        )
        if (
            header
            and header[1] == header[2]
            and record.endswith(f"RuntimeError: boom {header[1]}")
        ):
            intact.add(f"req-{header[1]}")
    return intact
