"""Error reports: emails to a real SMTP server, storm control, encrypted mail, the test command."""

import logging
import re
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult, LoginPassword
from concurrent_log_handler import ConcurrentRotatingFileHandler
from flask import current_app, request

from app.extensions import db
from app.mail.sender import StormControl
from app.models import User
from app.reporting import log_files, reports
from app.reporting.reports import Report
from config import ConfigError
from testkit.apps import ADMIN, log_text
from testkit.clients import Auth, csrf_token, make_user, page_text
from testkit.leaks import MAIL_PASSWORD, crash_a_login
from testkit.services.processes import blackhole_port, free_port, wait_until
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
    app = make_app(mail_port=smtp.port, MAIL_PASSWORD=MAIL_PASSWORD)

    def failing_check(user, password):
        # The worst case: the secret ends up in the exception message itself.
        raise RuntimeError(
            f"hash backend down checking {password} with {current_app.secret_key} "
            f"and {current_app.config['MAIL_PASSWORD']}"
        )

    response, secrets = crash_a_login(app, monkeypatch, failing_check)
    assert response.status_code == 500

    message = smtp.inbox.wait_for(1)[0]
    body = body_of(message)
    assert context_of(message)["Form fields"] == "csrf_token, username, password"
    assert "hash backend down checking [masked] with [masked] and [masked]" in body
    written = [body, message["Subject"], log_text(app), response.get_data(as_text=True)]
    for secret in secrets:
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
    with blackhole_port() as port:
        app = make_app(mail_port=port, MAIL_TIMEOUT=3)
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


# --- Reporting survives its own failures ----------------------------------------------


def error_lines(app, request_id: str) -> list[str]:
    return [line for line in log_text(app).splitlines() if f" ERROR [{request_id}] " in line]


def test_a_report_that_cannot_be_built_is_still_logged_and_mailed(
    smtp, make_app, monkeypatch, capfd
):
    app = make_app(mail_port=smtp.port)

    def broken(*args, **kwargs):
        raise RuntimeError("the report builder broke")

    # Both the email's builder and the log line's redaction fail, and so does
    # the search for the request's secrets.
    monkeypatch.setattr(reports, "innermost_app_frame", broken)
    monkeypatch.setattr(reports, "request_secrets", broken)
    monkeypatch.setattr(log_files, "request_secrets", broken)
    response = app.test_client().get("/crash/")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]

    [line] = error_lines(app, request_id)
    assert "Exception on /crash/ [GET] (this log line is incomplete: RuntimeError" in line
    assert 'raise DeliberateFailure("boom")' in log_text(app)
    [message] = smtp.inbox.wait_for(1)
    assert message["Subject"] == "Microblog Failure: DeliberateFailure (incomplete report)"
    body = body_of(message)
    assert context_of(message)["Request id"] == request_id
    assert "building it failed with RuntimeError: the report builder broke" in body
    assert 'raise DeliberateFailure("boom")' in body
    assert len(smtp.inbox.settle(0.5)) == 1
    assert "Logging error" not in capfd.readouterr().err


def test_a_record_a_handler_cannot_write_is_one_line_on_stderr_and_still_mailed(
    smtp, make_app, capfd
):
    app = make_app(mail_port=smtp.port)
    [log_file] = [h for h in app.logger.handlers if isinstance(h, ConcurrentRotatingFileHandler)]
    log_file.format = lambda record: 1 / 0
    response = app.test_client().get("/crash/")
    assert response.status_code == 500

    err = capfd.readouterr().err
    assert "Logging error" not in err
    assert (
        f"microblog: a ERROR log record (request {response.headers['X-Request-ID']}) was not "
        "written by ConcurrentRotatingFileHandler: ZeroDivisionError: division by zero"
    ) in err
    assert smtp.inbox.wait_for(1)[0]["Subject"].startswith("Microblog Failure: DeliberateFailure")


def test_a_500_page_that_cannot_render_is_still_one_record_and_one_email(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    # Every template fails to load, the error page's included.
    app.jinja_env.get_or_select_template = lambda *args, **kwargs: 1 / 0
    response = app.test_client().get("/crash/")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert f"Error reference: {request_id}" in response.get_data(as_text=True)

    assert len(error_lines(app, request_id)) == 1
    assert f"WARNING [{request_id}] The 500 page could not be rendered (ZeroDivisionError" in (
        log_text(app)
    )
    assert len(smtp.inbox.wait_for(1)) == 1
    assert len(smtp.inbox.settle(1)) == 1


def test_a_password_sent_as_json_is_struck_out_of_the_report(smtp, make_app, monkeypatch):
    app = make_app(mail_port=smtp.port)

    def failing_check(user, password):
        raise RuntimeError(f"hash backend down checking {password}")

    monkeypatch.setattr(User, "check_password", failing_check)
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    token = csrf_token(client, "/login")
    secret_password = "json-sent-pa55word"
    response = client.post(
        "/login",
        json={"username": "alice", "password": secret_password},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 500
    body = body_of(smtp.inbox.wait_for(1)[0])
    assert "hash backend down checking [masked]" in body
    assert secret_password not in body + log_text(app)


def test_a_logged_error_whose_arguments_do_not_fit_is_still_logged_and_mailed(
    smtp, make_app, capfd
):
    app = make_app(mail_port=smtp.port)
    # Straight to the app's own handlers: pytest's capturing handler would raise.
    record = app.logger.makeRecord(
        app.logger.name, logging.ERROR, __file__, 1, "order %d of %s declined", ("seven",), None
    )
    with app.test_request_context("/checkout"):
        for handler in app.logger.handlers:
            handler.handle(record)
    assert "ERROR [-] order %d of %s declined (this log line is incomplete: TypeError" in (
        log_text(app)
    )
    [message] = smtp.inbox.wait_for(1)
    assert message["Subject"] == "Microblog Failure: order %d of %s declined (incomplete report)"
    assert "Logging error" not in capfd.readouterr().err


def test_the_report_builder_reads_a_multipart_body_with_a_nameless_part(make_app):
    app = make_app()
    body = (
        b'--B\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2-but-longer\r\n'
        b"--B\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n--B--\r\n"
    )
    with app.test_request_context(
        "/login", method="POST", data=body, content_type="multipart/form-data; boundary=B"
    ):
        try:
            raise RuntimeError("failed with hunter2-but-longer")
        except RuntimeError as error:
            record = logging.LogRecord(
                "app", logging.ERROR, __file__, 1, "Exception", None, (RuntimeError, error, None)
            )
        report = reports.build_report(record, set())
    assert re.search(r"^Form fields: +password, None$", report.body, re.MULTILINE)
    assert "hunter2-but-longer" not in report.body
    assert "failed with [masked]" in report.body


# --- What a client claims: its own request id, another host -----------------------------


def test_two_failures_with_one_forged_request_id_get_their_own_references(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    client = app.test_client()
    forged = {"X-Request-ID": "chosen-by-the-client"}
    first = client.get("/crash/", headers=forged)
    second = client.get("/crash/other", headers=forged)
    references = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(references) == 2
    assert "chosen-by-the-client" not in references
    for response in (first, second):
        reference = response.headers["X-Request-ID"]
        assert f"Error reference: <code>{reference}</code>" in page_text(response)
        assert f"ERROR [{reference}] Exception on" in log_text(app)
    reports_by_id = {context_of(m)["Request id"]: context_of(m) for m in smtp.inbox.wait_for(2)}
    assert set(reports_by_id) == references
    assert all(r["Client request id"] == "chosen-by-the-client" for r in reports_by_id.values())


def test_a_report_names_the_host_a_client_claimed_when_it_is_not_the_sites(smtp, make_app):
    app = make_app(mail_port=smtp.port, SERVER_NAME="blog.example.com")
    client = app.test_client()
    client.get("/crash/?page=2", headers={"Host": "evil.example"})
    client.get("/crash/other")  # on the site's own host
    first, second = smtp.inbox.wait_for(2)
    assert context_of(first)["URL"] == (
        "http://blog.example.com/crash/?page=2 (the client asked for host 'evil.example')"
    )
    assert context_of(second)["URL"] == "http://blog.example.com/crash/other"
    assert "http://evil.example" not in body_of(first)


def test_a_report_of_a_request_whose_form_cannot_be_read_still_says_what_it_can(make_app):
    app = make_app(MAX_FORM_PARTS=1)
    body = b"".join(
        b'--B\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % n for n in range(3)
    )
    with app.test_request_context(
        "/login",
        method="POST",
        data=body + b"--B--\r\n",
        content_type="multipart/form-data; boundary=B",
    ):
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "failed", None, None)
        report = reports.build_report(record, set())
    assert re.search(r"^Form fields: +\(body could not be read\)$", report.body, re.MULTILINE)


def test_a_failure_that_strikes_the_500_pages_layout_again_is_one_record_and_one_email(
    smtp, make_app
):
    # Loading the signed-in user fails (its table is gone after a bad deploy): the
    # page fails, then the 500 page's layout, which shows the user, fails again.
    app = make_app(mail_port=smtp.port)
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    Auth(client).login()
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE login_session"))
        db.session.commit()

    response = client.get("/index")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert f"Error reference: {request_id}" in page_text(response)
    assert len(error_lines(app, request_id)) == 1
    assert f"WARNING [{request_id}] The 500 page could not be rendered" in log_text(app)
    assert len(smtp.inbox.wait_for(1)) == 1
    assert len(smtp.inbox.settle(1)) == 1
