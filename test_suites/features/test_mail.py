"""Ordinary mail: the same background sender as the error reports, without their storm control."""

import time

from flask import Flask

from app.mail import Email, send_email
from testkit.apps import ADMIN, log_text
from testkit.services.processes import blackhole_port, free_port, wait_until
from testkit.services.smtp import body_of

RECIPIENT = "reader@example.com"


def hello(number: int = 1) -> Email:
    return Email(
        (RECIPIENT,),
        "Hello from Microblog",
        f"Plain text {number}.",
        f"<p>HTML {number}.</p>",
    )


def send(app: Flask, mail: Email) -> None:
    with app.test_request_context():
        send_email(mail)


def test_a_message_goes_out_with_a_text_and_an_html_part(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    send(app, hello())
    [message] = smtp.inbox.wait_for(1)
    assert message["To"] == RECIPIENT
    assert message["From"] == "no-reply@127.0.0.1"
    assert message["Subject"] == "Hello from Microblog"
    assert message.get_content_type() == "multipart/alternative"
    assert body_of(message.get_body(("plain",))).strip() == "Plain text 1."
    assert body_of(message.get_body(("html",))).strip() == "<p>HTML 1.</p>"


def test_identical_messages_are_all_sent_and_reports_keep_their_storm_control(smtp, make_app):
    app = make_app(mail_port=smtp.port, ERROR_EMAIL_WINDOW=60)
    client = app.test_client()
    client.get("/crash/")  # the first report of its kind: mailed
    for _ in range(5):
        send(app, hello())
    client.get("/crash/")  # a repeat: counted for the digest, not mailed
    messages = smtp.inbox.wait_for(6)
    assert len(smtp.inbox.settle(0.5)) == 6
    assert [m["To"] for m in messages].count(RECIPIENT) == 5
    assert [m["To"] for m in messages].count(ADMIN) == 1


def test_mail_after_the_sender_was_stopped_starts_it_again(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    send(app, hello(1))
    assert len(smtp.inbox.wait_for(1)) == 1
    app.extensions["mail_sender"].stop()  # as at a process's exit, or a test's end
    send(app, hello(2))
    messages = smtp.inbox.wait_for(2)
    assert [body_of(m.get_body(("plain",))).strip() for m in messages] == [
        "Plain text 1.",
        "Plain text 2.",
    ]


def test_messages_are_sent_without_admins_and_in_testing_mode(smtp, make_app):
    # Error reports need ADMINS and production mode; a password reset needs neither.
    app = make_app(mail_port=smtp.port, ADMINS=[], TESTING=True)
    send(app, hello())
    assert smtp.inbox.wait_for(1)[0]["To"] == RECIPIENT


def test_a_dead_smtp_server_neither_delays_the_sender_nor_leaks_the_recipient(make_app):
    with blackhole_port() as port:
        app = make_app(mail_port=port, MAIL_TIMEOUT=2)
        started = time.perf_counter()
        send(app, hello())
        assert time.perf_counter() - started < 0.5
        failed = "Could not send email 'Hello from Microblog'"
        assert wait_until(lambda: failed in log_text(app), 10)
    assert RECIPIENT not in log_text(app)


def test_a_refused_connection_is_logged(make_app):
    app = make_app(mail_port=free_port())
    send(app, hello())
    assert wait_until(lambda: "ConnectionRefusedError" in log_text(app), 10)


def test_without_a_mail_server_nothing_is_queued_and_a_warning_says_so(make_app):
    app = make_app()
    assert "mail_sender" not in app.extensions
    send(app, hello())
    assert "Email 'Hello from Microblog' not sent: MAIL_SERVER is not set" in log_text(app)


def test_debug_mode_without_a_mail_server_shows_the_message_in_the_terminal(make_app, caplog):
    app = make_app(DEBUG=True)
    with caplog.at_level("INFO", logger="app"):
        send(app, hello(7))
    assert "this email is shown here instead of sent" in caplog.text
    assert f"To: {RECIPIENT}" in caplog.text
    assert "Plain text 7." in caplog.text
