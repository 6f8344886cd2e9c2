"""Error reports: emails to a real SMTP server, storm control, encrypted mail, the test command."""

import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import current_app, request

from app.models import User
from app.reporting.mailer import StormControl
from app.reporting.reports import Report
from config import ConfigError
from testkit.apps import ADMIN, log_text
from testkit.clients import Auth, csrf_token, make_user
from testkit.services.processes import free_port, wait_until
from testkit.services.smtp import body_of, context_of, smtp_sink

# --- Email reports --------------------------------------------------------------------


def test_a_crash_is_mailed_once_with_traceback_and_request_context(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    client = app.test_client()
    with app.app_context():
        make_user("alice")
    Auth(client).login()

    response = client.get("/crash/?page=2&api_key=k3y-v4lue", headers={"User-Agent": "probe/1.0"})
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]

    messages = smtp.inbox.wait_for(1)
    assert len(smtp.inbox.settle(0.5)) == 1
    message = messages[0]
    assert message["Subject"] == "Microblog Failure: DeliberateFailure at GET /crash/"
    assert message["From"] == "no-reply@127.0.0.1"
    assert message["To"] == ADMIN
    body = body_of(message)
    assert "Traceback (most recent call last):" in body
    assert 'raise DeliberateFailure("boom")' in body
    context = context_of(message)
    assert context["Request id"] == request_id
    assert context["Method"] == "GET"
    assert context["URL"] == "http://localhost/crash/?page=2&api_key=[masked]"
    assert context["Endpoint"] == "crashing.crash"
    assert context["User"] == "id 1 (alice)"
    assert context["Client address"] == "127.0.0.1"
    assert context["User agent"] == "probe/1.0"
    assert context["Form fields"] == "(none)"
    assert "k3y-v4lue" not in body


def test_a_crash_while_logging_in_leaks_no_secret(smtp, make_app, monkeypatch):
    app = make_app(mail_port=smtp.port, MAIL_PASSWORD="mail-pa55word")
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
    token = csrf_token(client, "/login")
    session_cookie = client.get_cookie("session").value
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": "alice", "password": secret_password},
        headers={"Authorization": "Bearer bearer-token-value"},
    )
    assert response.status_code == 500

    message = smtp.inbox.wait_for(1)[0]
    body = body_of(message)
    assert context_of(message)["Form fields"] == "csrf_token, username, password"
    assert "hash backend down checking [masked] with [masked] and [masked]" in body
    written = [body, message["Subject"], log_text(app), response.get_data(as_text=True)]
    for secret in (
        secret_password,
        app.secret_key,
        "mail-pa55word",
        token,
        session_cookie,
        "bearer-token-value",
    ):
        for text in written:
            assert secret not in text


def test_secrets_in_the_path_and_email_addresses_are_struck_out(smtp, make_app):
    app = make_app(mail_port=smtp.port)

    # A route whose path carries a secret, named as such (a password reset token).
    @app.route("/links/<token>")
    def follow_link(token: str) -> str:
        raise RuntimeError(f"no link {token} for {request.args['email']}")

    path = "/links/s3cret-link-t0ken"
    response = app.test_client().get(f"{path}?email=someone@example.com&page=2")
    assert response.status_code == 500
    message = smtp.inbox.wait_for(1)[0]
    assert message["Subject"] == "Microblog Failure: RuntimeError at GET /links/[masked]"
    assert context_of(message)["URL"] == "http://localhost/links/[masked]?email=[masked]&page=2"
    assert "RuntimeError: no link [masked] for [masked]" in body_of(message)
    assert "Exception on /links/[masked] [GET]" in log_text(app)
    for text in (message["Subject"], body_of(message), log_text(app)):
        assert "s3cret-link-t0ken" not in text
        assert "someone@example.com" not in text


def test_a_blackholed_smtp_server_does_not_delay_the_request(make_app):
    # A server that accepts connections (the kernel completes the handshake) and
    # never says a word: the SMTP client would wait for its full timeout.
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(8)
        app = make_app(mail_port=blackhole.getsockname()[1], MAIL_TIMEOUT=3)
        client = app.test_client()

        started = time.perf_counter()
        response = client.get("/crash/")
        elapsed = time.perf_counter() - started
        assert response.status_code == 500
        # The request came back before the SMTP attempt could even time out.
        assert "Could not send error report" not in log_text(app)
        print(f"\nerroring request with a blackholed SMTP server answered in {elapsed:.3f} s")

        failure = wait_until(lambda: "Could not send error report" in log_text(app), 10)
        assert failure, "the failed send was not written to the log file"
        assert "TimeoutError" in log_text(app) or "timed out" in log_text(app)


def test_a_refused_connection_is_logged_not_raised(make_app):
    app = make_app(mail_port=free_port())
    assert app.test_client().get("/crash/").status_code == 500
    assert wait_until(lambda: "ConnectionRefusedError" in log_text(app), 10)


# --- Storm control ----------------------------------------------------------------------


def test_fifty_identical_failures_give_one_email_and_one_digest(smtp, make_app):
    app = make_app(mail_port=smtp.port, ERROR_EMAIL_WINDOW=2)
    client = app.test_client()
    ids = [client.get("/crash/").headers["X-Request-ID"] for _ in range(50)]

    assert len(smtp.inbox.wait_for(1)) >= 1
    messages = smtp.inbox.wait_for(2, seconds=6)
    assert len(smtp.inbox.settle(1)) == 2
    first, digest = messages
    assert first["Subject"] == "Microblog Failure: DeliberateFailure at GET /crash/"
    assert (
        digest["Subject"]
        == "Microblog Failure: DeliberateFailure at GET /crash/ (repeated 49 more times)"
    )
    digest_body = body_of(digest)
    assert "happened 49 more times within 2 seconds" in digest_body
    assert ids[1] in digest_body and ids[-1] in digest_body
    print(f"\n50 identical failures gave {len(messages)} emails")


def test_two_different_failures_give_two_emails(smtp, make_app):
    client = make_app(mail_port=smtp.port).test_client()
    client.get("/crash/")
    client.get("/crash/other")
    subjects = {message["Subject"] for message in smtp.inbox.wait_for(2)}
    assert subjects == {
        "Microblog Failure: DeliberateFailure at GET /crash/",
        "Microblog Failure: KeyError at GET /crash/other",
    }


def test_an_error_logged_without_exception_is_mailed_too(smtp, make_app):
    make_app(mail_port=smtp.port).test_client().get("/crash/logged-error")
    message = smtp.inbox.wait_for(1)[0]
    assert (
        message["Subject"]
        == "Microblog Failure: payment provider declined order 7 at GET /crash/logged-error"
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


def test_control_characters_in_the_path_cannot_forge_mail_headers(smtp, make_app):
    client = make_app(mail_port=smtp.port).test_client()
    client.get("/crash/text/x%0D%0ABcc:%20victim@example.com")
    message = smtp.inbox.wait_for(1)[0]
    assert message["Bcc"] is None
    assert (
        message["Subject"]
        == "Microblog Failure: DeliberateFailure at GET /crash/text/x??Bcc: victim@example.com"
    )


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


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """What the SMTP server presents: the test certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def trusted(certificate, monkeypatch) -> ssl.SSLContext:
    """Trust the test certificate the way an operator's CA bundle would be trusted."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return server_context(certificate)


class Credentials:
    """An aiosmtpd authenticator that records every login and accepts one password."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.seen.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=auth_data.password == b"mail-pa55word")
        return AuthResult(success=False)


def test_starttls_with_login_reaches_the_server(trusted, make_app):
    credentials = Credentials()
    with smtp_sink(
        tls_context=trusted,
        require_starttls=True,
        auth_required=True,
        authenticator=credentials,
    ) as server:
        app = make_app(
            mail_port=server.port,
            MAIL_USE_TLS=True,
            MAIL_USERNAME="reporter",
            MAIL_PASSWORD="mail-pa55word",
        )
        app.test_client().get("/crash/")
        message = server.inbox.wait_for(1)[0]
    assert message["Subject"] == "Microblog Failure: DeliberateFailure at GET /crash/"
    assert credentials.seen == [("reporter", "mail-pa55word")]
    assert "mail-pa55word" not in body_of(message) + log_text(app)


def test_implicit_tls_reaches_the_server(trusted, make_app):
    with smtp_sink(ssl_context=trusted) as server:
        app = make_app(mail_port=server.port, MAIL_USE_SSL=True)
        app.test_client().get("/crash/")
        message = server.inbox.wait_for(1)[0]
    assert message["Subject"] == "Microblog Failure: DeliberateFailure at GET /crash/"


def test_tls_refuses_a_server_with_an_untrusted_certificate(certificate, make_app):
    with smtp_sink(ssl_context=server_context(certificate)) as server:
        app = make_app(mail_port=server.port, MAIL_USE_SSL=True)
        app.test_client().get("/crash/")
        assert wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in log_text(app), 10)
    assert server.inbox.messages == []


def test_tls_and_ssl_together_are_a_configuration_error(make_app):
    with pytest.raises(ConfigError, match="exclude each other"):
        make_app(mail_port=free_port(), MAIL_USE_TLS=True, MAIL_USE_SSL=True)


# --- The operator's test command ------------------------------------------------------


def test_send_test_report_prints_that_the_server_accepted_it(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    result = app.test_cli_runner().invoke(args=["send-test-report"])
    assert result.exit_code == 0, result.output
    assert (
        f"The SMTP server 127.0.0.1:{smtp.port} accepted the test report for {ADMIN}."
        in result.output
    )
    message = smtp.inbox.messages[0]
    assert message["Subject"] == "Microblog Failure: RuntimeError"
    assert "This is a test report from flask send-test-report." in body_of(message)


def test_send_test_report_explains_a_failure(make_app):
    app = make_app(mail_port=free_port())
    result = app.test_cli_runner().invoke(args=["send-test-report"])
    assert result.exit_code == 1
    assert "The report was not sent to 127.0.0.1" in result.output
    assert "ConnectionRefusedError" in result.output


def test_send_test_report_needs_mail_settings(make_app):
    result = make_app().test_cli_runner().invoke(args=["send-test-report"])
    assert result.exit_code == 1
    assert "Set MAIL_SERVER and ADMINS" in result.output


# --- The reference a user can quote -----------------------------------------------------


def test_the_500_page_shows_its_error_reference(make_app):
    response = make_app().test_client().get("/crash/")
    reference = response.headers["X-Request-ID"]
    assert f"Error reference: <code>{reference}</code>" in response.get_data(as_text=True)


def test_a_json_500_carries_its_reference(make_app):
    client = make_app().test_client()
    response = client.get("/crash/", headers={"Accept": "application/json"})
    assert response.json["reference"] == response.headers["X-Request-ID"]
