"""Password reset by email: the journey, the link's safety, abuse limits, secrets kept out of logs.

Mail goes to a real SMTP server (aiosmtpd, the ``smtp`` fixture). Every test
that uses ``app`` runs on SQLite and on PostgreSQL.
"""

import json
import re
import statistics
import time
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from flask import Flask, request, template_rendered
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from limits.errors import StorageError

from app.auth import password_reset
from app.auth.sessions import LoginSession, key_hash
from app.extensions import db, limiter
from app.models import User
from config import Config, ConfigError
from testkit.apps import ADMIN, log_text
from testkit.clients import (
    NEW_PASSWORD,
    PASSWORD,
    Auth,
    csrf_token,
    is_logged_in,
    make_user,
    page_text,
    submit,
    token_in,
)
from testkit.services.smtp import SmtpSink, body_of, context_of

SITE_URL = "https://blog.example.com"
LINK = re.compile(r"https?://[^\s\"<>]+/reset_password/[^\s\"<>]+")
LINK_SENT = "If an account uses that address, we have sent it a link."
LINK_DEAD = "This link no longer works"
OTHER_PASSWORD = "yet another passphrase"


@pytest.fixture
def extra_settings() -> dict[str, object]:
    """Parametrize to change this module's app settings."""
    return {}


@pytest.fixture
def app_settings(smtp: SmtpSink, extra_settings: dict[str, object]) -> dict[str, object]:
    """Links to SITE_URL, mailed to the test's SMTP server."""
    mail = {"MAIL_SERVER": smtp.host, "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 2}
    return {"SITE_URL": SITE_URL, **mail, **extra_settings}


class Clock:
    """Moves the token signer's clock forward: time is moved, never slept."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0
        real = TimestampSigner.get_timestamp
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda s: real(s) + self.offset)

    def move_to(self, minutes: float) -> None:
        """``minutes`` after now (now being when the test started moving it)."""
        self.offset = int(minutes * 60)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


# --- Helpers ---------------------------------------------------------------------------------


def ask_for_link(client, address: str, **kwargs):
    return submit(client, "/reset_password_request", {"email": address}, **kwargs)


def text_part(message: EmailMessage) -> str:
    return body_of(message.get_body(("plain",)))


def html_part(message: EmailMessage) -> str:
    return body_of(message.get_body(("html",)))


def link_in(message: EmailMessage) -> str:
    [link] = LINK.findall(text_part(message))
    return link


def path_of(link: str) -> str:
    return link.removeprefix(SITE_URL)


def token_of(link: str) -> str:
    return link.rpartition("/")[2]


def mailed_link(client, smtp: SmtpSink, address: str = "alice@example.com") -> str:
    """Ask for a link and return it from the email that brings it."""
    before = len(smtp.inbox.messages)
    assert ask_for_link(client, address).status_code == 302
    messages = smtp.inbox.wait_for(before + 1)
    return link_in(messages[before])


def set_new_password(
    client, path: str, password: str = NEW_PASSWORD, repeat: str | None = None, **kwargs
):
    repeat = password if repeat is None else repeat
    return submit(client, path, {"password": password, "password2": repeat}, **kwargs)


def all_mail_sent(app: Flask, smtp: SmtpSink) -> list[EmailMessage]:
    """Every message, once the sender has sent all it was given (it stops for good)."""
    app.extensions["mail_sender"].stop()
    return smtp.inbox.messages


def assert_answered_as_sent(response, client) -> None:
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert LINK_SENT in page_text(client.get("/login"))


def can_log_in(app: Flask, password: str) -> bool:
    return Auth(app.test_client()).login("alice", password).headers["Location"] == "/index"


# --- The journey -----------------------------------------------------------------------------


def test_the_login_page_offers_a_reset_link(client) -> None:
    page = page_text(client.get("/login"))
    assert '<a href="/reset_password_request">Forgot your password?</a>' in page
    form = page_text(client.get("/reset_password_request"))
    assert "Reset your password" in form
    assert 'type="email"' in form


@pytest.mark.both_databases
def test_a_forgotten_password_is_reset_through_the_emailed_link(app, client, alice, smtp):
    response = ask_for_link(client, "alice@example.com")
    assert_answered_as_sent(response, client)

    [message] = smtp.inbox.wait_for(1)
    print("\n--- the reset email (headers and text part) ---")
    for header in ("From", "To", "Subject", "Content-Type"):
        print(f"{header}: {message[header]}")
    print(f"\n{text_part(message)}--- end of the reset email ---")
    assert message["To"] == "alice@example.com"
    assert message["From"] == f"no-reply@{smtp.host}"
    assert message["Subject"] == "Reset your Microblog password"
    assert message.get_content_type() == "multipart/alternative"
    text, html = text_part(message), html_part(message)
    # It names the site and the account, holds one link, says for how long it
    # works and what to do when you did not ask.
    for part in (text, html):
        assert "Microblog (blog.example.com)" in part
        assert "alice" in part
        assert "for 30 minutes" in part
        assert "If you did not ask for this, ignore this email" in part
    link = link_in(message)
    assert link.startswith(f"{SITE_URL}/reset_password/")
    assert len(re.findall(r"https?://", text)) == 1
    assert re.findall(r'<a href="([^"]+)"', html) == [link]

    form = client.get(path_of(link))
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert "Choose a new password" in page_text(form)
    assert "<strong>alice</strong>" in page_text(form)

    done = set_new_password(client, path_of(link))
    assert done.status_code == 302
    assert done.headers["Location"] == "/index"
    home = page_text(client.get("/index"))
    assert "Your password has been changed. You are signed in here" in home
    assert "Hi, alice!" in home
    assert can_log_in(app, NEW_PASSWORD)
    assert not can_log_in(app, PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_email(app, client, alice, smtp):
    known = ask_for_link(client, "alice@example.com")
    unknown = ask_for_link(client, "nobody@example.com")
    assert (unknown.status_code, unknown.headers["Location"]) == (
        known.status_code,
        known.headers["Location"],
    )
    assert_answered_as_sent(unknown, client)
    assert [m["To"] for m in all_mail_sent(app, smtp)] == ["alice@example.com"]


@pytest.mark.parametrize(
    "typed",
    ["ALICE@example.com", "  alice@example.com ", "Alice@Example.COM\t", "alice@EXAMPLE.com"],
)
@pytest.mark.both_databases
def test_the_address_is_found_whatever_its_case_and_surrounding_spaces(client, alice, smtp, typed):
    assert_answered_as_sent(ask_for_link(client, typed), client)
    assert smtp.inbox.wait_for(1)[0]["To"] == "alice@example.com"


@pytest.mark.parametrize("typed", ["", "   ", "not an address", "alice@", "a" * 250 + "@x.org"])
def test_what_is_no_address_is_refused_by_the_form(app, client, alice, smtp, typed):
    response = ask_for_link(client, typed)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in page_text(response)
    assert all_mail_sent(app, smtp) == []


def test_a_signed_in_person_asking_for_a_link_is_sent_home(client, logged_in):
    assert client.get("/reset_password_request").headers["Location"] == "/index"


def test_the_new_password_follows_the_registration_rules(app, client, alice, smtp):
    path = path_of(mailed_link(client, smtp))
    common = set_new_password(client, path, "password123")
    assert "This password is too common" in page_text(common)
    mismatch = set_new_password(client, path, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert "Passwords must match." in page_text(mismatch)
    short = set_new_password(client, path, "short")
    assert "Passwords are 8 to 128 characters long." in page_text(short)
    assert can_log_in(app, PASSWORD)
    # Refused attempts do not use the link up.
    assert set_new_password(client, path).headers["Location"] == "/index"


# --- The link's address comes from configuration ---------------------------------------------


def test_a_forged_host_header_does_not_change_the_link(client, alice, smtp):
    # An attacker's own browser, sending a Host header of its choice all along.
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    page = client.get("/reset_password_request", headers=forged)
    form = {
        "csrf_token": token_in(page_text(page), "the request page"),
        "email": "alice@example.com",
    }
    response = client.post("/reset_password_request", data=form, headers=forged)
    assert response.status_code == 302
    link = link_in(smtp.inbox.wait_for(1)[0])
    print(f"\nA request with Host: evil.example got the link {link}")
    assert link.startswith(f"{SITE_URL}/reset_password/")
    assert "evil" not in link


@pytest.mark.parametrize(
    "extra_settings",
    [{"SITE_URL": None, "SERVER_NAME": "blog.example.org", "PREFERRED_URL_SCHEME": "https"}],
)
def test_without_site_url_the_link_uses_server_name_and_scheme(client, alice, smtp):
    # Over https, Flask-WTF also wants a Referer from this site, as browsers send.
    referer = {"Referer": "https://blog.example.org/reset_password_request"}
    assert ask_for_link(client, "alice@example.com", headers=referer).status_code == 302
    link = link_in(smtp.inbox.wait_for(1)[0])
    assert link.startswith("https://blog.example.org/reset_password/")


# --- The token: expiry, single use, tampering, purpose ---------------------------------------


def assert_dead_link_page(response) -> None:
    assert response.status_code == 200
    page = page_text(response)
    assert LINK_DEAD in page
    # It offers to send a new link.
    assert 'action="/reset_password_request"' in page
    assert 'name="email"' in page


def test_a_link_works_until_it_expires(app, client, alice, smtp, clock):
    path = path_of(mailed_link(client, smtp))
    clock.move_to(29)
    assert "Choose a new password" in page_text(client.get(path))
    clock.move_to(31)
    assert_dead_link_page(client.get(path))
    assert_dead_link_page(set_new_password(client, path, form_page="/reset_password_request"))
    assert can_log_in(app, PASSWORD)


@pytest.mark.parametrize("extra_settings", [{"PASSWORD_RESET_MINUTES": 5}])
def test_the_lifetime_of_a_link_is_configurable(client, alice, smtp, clock):
    path = path_of(mailed_link(client, smtp))
    assert "for 5 minutes" in text_part(smtp.inbox.messages[0])
    clock.move_to(4.9)
    assert "Choose a new password" in page_text(client.get(path))
    clock.move_to(5.1)
    assert_dead_link_page(client.get(path))


def test_a_link_works_once(app, client, alice, smtp):
    path = path_of(mailed_link(client, smtp))
    assert set_new_password(client, path).headers["Location"] == "/index"
    other = app.test_client()
    assert_dead_link_page(other.get(path))
    reused = set_new_password(other, path, OTHER_PASSWORD, form_page="/reset_password_request")
    assert_dead_link_page(reused)
    assert can_log_in(app, NEW_PASSWORD)


def test_a_password_change_ends_every_link_issued_before_it(app, client, alice, smtp):
    first = path_of(mailed_link(client, smtp))
    second = path_of(mailed_link(client, smtp))
    assert "Choose a new password" in page_text(client.get(first))
    assert set_new_password(client, second).headers["Location"] == "/index"
    assert_dead_link_page(app.test_client().get(first))
    # A change in the profile editor ends them too.
    third = path_of(mailed_link(app.test_client(), smtp))
    assert Auth(client).change_password(NEW_PASSWORD, OTHER_PASSWORD).status_code == 302
    assert_dead_link_page(app.test_client().get(third))


def tampered(token: str) -> list[str]:
    payload, timestamp, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    other_user = URLSafeTimedSerializer("x").dumps({"id": 2, "fp": "0" * 16}).split(".")[0]
    return [
        f"{payload}.{timestamp}.{flipped}",  # a changed signature
        f"{other_user}.{timestamp}.{signature}",  # another account's id, same signature
        f"{payload}.{timestamp}",  # cut short
        token + "x",
    ]


MALFORMED = ["x", "....", "a.b.c", "%C3%A9t%C3%A9", "%00", "A" * 3000, "e30.e30.e30", "=="]


def test_tampered_and_malformed_links_get_the_friendly_page(app, client, alice, smtp):
    token = token_of(mailed_link(client, smtp))
    for n, bad in enumerate([*tampered(token), *MALFORMED]):
        response = client.get(f"/reset_password/{bad}")
        if bad == "%00":  # refused before any view: no NUL in any input (input_checks)
            assert response.status_code == 400
            continue
        assert_dead_link_page(response)
        posted = set_new_password(
            client,
            f"/reset_password/{bad}",
            form_page="/reset_password_request",
            **from_address(f"192.0.2.{n}"),  # each under the per-address limit
        )
        assert_dead_link_page(posted)
    assert can_log_in(app, PASSWORD)


def test_tokens_made_for_other_purposes_are_no_reset_tokens(app, client, alice):
    # The CSRF token and the session cookie are signed with the same secret.
    client.get("/login")
    others = [csrf_token(client), client.get_cookie("session").value]
    # The right payload for alice, signed for another purpose (another salt).
    claims = {"id": alice.id, "fp": password_reset.fingerprint(alice)}
    others.append(URLSafeTimedSerializer(app.secret_key, salt="other").dumps(claims))
    others.append(URLSafeTimedSerializer(app.secret_key).dumps(claims))
    for token in others:
        assert_dead_link_page(client.get(f"/reset_password/{token}"))


@pytest.mark.both_databases
def test_tokens_signed_for_resets_but_not_made_by_the_site_are_refused(app, client, alice):
    # Should the secret leak into a script, or a later version change the payload:
    # anything but {"id": <an account>, "fp": <its fingerprint>} is refused.
    fingerprint = password_reset.fingerprint(alice)
    with app.test_request_context():
        signed = password_reset.serializer().dumps
        shapes = [
            [alice.id, fingerprint],
            "alice",
            {"id": str(alice.id), "fp": fingerprint},
            {"id": True, "fp": fingerprint},
            {"id": alice.id, "fp": 7},
            {"id": alice.id},
            {"id": 999, "fp": fingerprint},
        ]
        tokens = [signed(shape) for shape in shapes]
        assert password_reset.user_for_token(signed({"id": alice.id, "fp": fingerprint}))
    for token in tokens:
        assert_dead_link_page(client.get(f"/reset_password/{token}"))


def test_a_reset_token_is_no_csrf_token(client, alice, smtp):
    token = token_of(mailed_link(client, smtp))
    response = client.post("/login", data={"csrf_token": token, "username": "alice"})
    assert response.status_code == 400


def test_a_reset_signs_out_other_sessions_and_remember_cookies(app, client, alice, smtp):
    other_browser = app.test_client()
    Auth(other_browser).login()
    remembered = app.test_client()
    Auth(remembered).login(remember_me=True)
    remembered.delete_cookie("session")
    assert is_logged_in(other_browser) and is_logged_in(remembered)

    path = path_of(mailed_link(client, smtp))
    assert set_new_password(client, path).headers["Location"] == "/index"
    assert is_logged_in(client)
    assert not is_logged_in(other_browser)
    assert not is_logged_in(remembered)


def login_keys_of(user: User) -> set[str]:
    return set(db.session.scalars(sa.select(LoginSession.key_hash).filter_by(user_id=user.id)))


@pytest.mark.both_databases
def test_a_reset_ends_every_login_record_and_makes_one_for_this_browser(app, client, alice, smtp):
    for remember_me in (False, True):
        Auth(app.test_client()).login(remember_me=remember_me)
    assert len(login_keys_of(alice)) == 2

    path = path_of(mailed_link(client, smtp))
    assert set_new_password(client, path).headers["Location"] == "/index"
    with client.session_transaction() as session:
        this_browser = key_hash(session["_user_id"])
    assert login_keys_of(alice) == {this_browser}
    assert "This browser" in page_text(client.get("/edit_profile"))


@pytest.mark.both_databases
def test_a_reset_in_a_browser_signed_in_as_someone_else_ends_that_login(app, client, alice, smtp):
    bob = make_user("bob")
    Auth(client).login("bob")
    assert len(login_keys_of(bob)) == 1
    path = path_of(mailed_link(app.test_client(), smtp))
    assert set_new_password(client, path).headers["Location"] == "/index"
    assert login_keys_of(bob) == set()
    assert len(login_keys_of(alice)) == 1


def test_the_reset_starts_a_fresh_session_in_this_browser(app, client, alice, smtp):
    make_user("bob")
    Auth(client).login("bob")
    with client.session_transaction() as planted:
        planted["planted"] = "attacker"
    path = path_of(mailed_link(app.test_client(), smtp))
    assert set_new_password(client, path).headers["Location"] == "/index"
    with client.session_transaction() as current:
        assert "planted" not in current
    assert "Hi, alice!" in page_text(client.get("/index"))


# --- Abuse: rate limits, and no timing oracle ------------------------------------------------


def from_address(ip: str) -> dict[str, object]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_links_for_one_address_are_limited_whoever_asks(app, client, alice, smtp, caplog):
    for n in range(5):
        ask_for_link(client, "alice@example.com", **from_address(f"198.51.100.{n}"))
    over = ask_for_link(client, "ALICE@example.com", **from_address("203.0.113.9"))
    assert_answered_as_sent(over, client)
    assert len(all_mail_sent(app, smtp)) == 5
    assert "Password reset request over the limit per email address: nothing sent" in caplog.text
    assert "alice@example.com" not in caplog.text


def test_requests_from_one_client_address_are_limited(app, client, smtp, caplog):
    for n in range(6):
        make_user(f"user{n}")
    for n in range(5):
        ask_for_link(client, f"user{n}@example.com", **from_address("203.0.113.7"))
    over = ask_for_link(client, "user5@example.com", **from_address("203.0.113.7"))
    assert_answered_as_sent(over, client)
    assert "Password reset request over the limit per client address: nothing sent" in caplog.text
    ask_for_link(client, "user5@example.com", **from_address("198.51.100.1"))
    sent = all_mail_sent(app, smtp)
    assert sorted(m["To"] for m in sent) == [f"user{n}@example.com" for n in range(6)]


def test_the_limits_count_in_the_login_forms_storage(app, client, alice, smtp):
    from app.extensions import limiter

    ask_for_link(client, "alice@example.com")
    limiter.reset()  # what clears the login form's counts clears these too
    for _ in range(5):
        ask_for_link(client, "alice@example.com")
    assert len(all_mail_sent(app, smtp)) == 6


@pytest.mark.parametrize("extra_settings", [{"RATELIMIT_ENABLED": False}])
def test_without_rate_limits_every_request_is_answered_with_a_link(app, client, alice, smtp):
    for _ in range(7):
        ask_for_link(client, "alice@example.com")
    assert len(all_mail_sent(app, smtp)) == 7


def test_unknown_addresses_cost_the_same_work_as_known_ones(app, client, alice, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_PASSWORD_RESET", "1000 per hour")
    rendered: list[str] = []

    def record(sender, template, context, **extra) -> None:
        rendered.append(template.name)

    template_rendered.connect(record, app)
    try:
        ask_for_link(client, "alice@example.com")
        known, rendered[:] = list(rendered), []
        ask_for_link(client, "nobody@example.com")
        unknown = list(rendered)
    finally:
        template_rendered.disconnect(record, app)
    assert known == unknown
    assert {"email/reset_password.txt", "email/reset_password.html"} <= set(known)

    token = csrf_token(client, "/reset_password_request")
    timings: dict[str, list[float]] = {"alice@example.com": [], "nobody@example.com": []}
    for sent in range(2, 17):
        for address, times in timings.items():
            started = time.perf_counter()
            client.post("/reset_password_request", data={"csrf_token": token, "email": address})
            times.append(time.perf_counter() - started)
            # The sending happens after the answer, in the background: let it end
            # before the next measurement, as it would between two visitors.
            smtp.inbox.wait_for(sent)
    medians = {address: statistics.median(times) * 1000 for address, times in timings.items()}
    print(f"\nmedian answer time in ms, known and unknown address: {medians}")
    assert abs(medians["alice@example.com"] - medians["nobody@example.com"]) < 10


# --- Secrets stay out of logs and reports ----------------------------------------------------


def test_the_token_and_the_address_stay_out_of_the_log_and_reports(
    smtp, make_app, database, monkeypatch
):
    app = make_app(mail_port=smtp.port, database=database, SITE_URL=SITE_URL)
    with app.app_context():
        make_user("alice", email="alice.secret@example.com")
    client = app.test_client()
    address = "alice.secret@example.com"
    link = mailed_link(client, smtp, address)
    token = token_of(link)
    assert client.get(path_of(link)).status_code == 200

    def failing_change(user: User, password: str) -> None:
        # The worst case: the token ends up in the exception message itself.
        raise RuntimeError(f"could not store it for {request.url}")

    monkeypatch.setattr(User, "set_password", failing_change)
    assert set_new_password(client, path_of(link)).status_code == 500

    def failing_send(typed: str) -> bool:
        raise RuntimeError(f"mail queue full, dropped the link for {typed}")

    monkeypatch.setattr(password_reset, "send_reset_link", failing_send)
    assert ask_for_link(client, address).status_code == 500

    reports = [m for m in smtp.inbox.wait_for(3) if m["To"] == ADMIN]
    assert len(reports) == 2
    subjects = [m["Subject"] for m in reports]
    assert "Microblog Failure: RuntimeError at POST /reset_password/[masked]" in subjects
    written = [log_text(app), *subjects, *(body_of(m) for m in reports)]
    urls = {context_of(m)["URL"] for m in reports}
    assert urls == {
        "http://localhost/reset_password/[masked]",
        "http://localhost/reset_password_request",
    }
    for text in written:
        assert token not in text
        assert address not in text
    assert "Exception on /reset_password/[masked] [POST]" in log_text(app)
    assert "could not store it for http://localhost/reset_password/[masked]" in log_text(app)
    assert "mail queue full, dropped the link for [masked]" in log_text(app)


def test_a_failed_send_is_logged_without_the_address(make_app, database):
    app = make_app(
        database=database, SITE_URL=SITE_URL, MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=1
    )
    with app.app_context():
        make_user("alice")
    started = time.perf_counter()
    response = ask_for_link(app.test_client(), "alice@example.com")
    assert time.perf_counter() - started < 1
    assert response.status_code == 302
    app.extensions["mail_sender"].stop()
    text = log_text(app)
    assert "Could not send email 'Reset your Microblog password'" in text
    assert "alice@example.com" not in text


# --- Off without an address for the links; debug mode prints the email -----------------------


@pytest.mark.parametrize("extra_settings", [{"SITE_URL": None}])
def test_without_site_url_the_feature_is_off(client, alice, smtp):
    assert "Forgot your password?" not in page_text(client.get("/login"))
    assert client.get("/reset_password_request").status_code == 404
    asked = submit(
        client, "/reset_password_request", {"email": "alice@example.com"}, form_page="/login"
    )
    assert asked.status_code == 404
    assert client.get("/reset_password/anything").status_code == 404
    assert smtp.inbox.settle(0.3) == []


def test_the_log_says_why_the_feature_is_off(make_app, smtp):
    app = make_app(mail_port=smtp.port)
    assert "Password reset by email is off: set SITE_URL" in log_text(app)
    assert "password_reset" not in app.extensions
    app = make_app(SITE_URL=SITE_URL)
    assert "Password reset by email is off: set MAIL_SERVER" in log_text(app)
    app = make_app(SITE_URL=SITE_URL, mail_port=smtp.port)
    assert "password_reset" in app.extensions


def test_debug_mode_without_mail_settings_prints_the_email(make_app, database, caplog):
    app = make_app(DEBUG=True, database=database)
    assert app.debug and "mail_sender" not in app.extensions
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    assert "Forgot your password?" in page_text(client.get("/login"))
    with caplog.at_level("INFO", logger="app"):
        ask_for_link(client, "alice@example.com")
    assert "To: alice@example.com" in caplog.text
    # Without SITE_URL, on a developer's machine, the link leads where the browser is.
    [link] = LINK.findall(caplog.text)
    assert link.startswith("http://localhost/reset_password/")
    assert set_new_password(client, link.removeprefix("http://localhost")).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User)).check_password(NEW_PASSWORD)


# --- Settings ---------------------------------------------------------------------------------


def test_the_reset_settings_are_read_from_the_environment(monkeypatch) -> None:
    for name in ("SITE_URL", "PASSWORD_RESET_MINUTES", "RATELIMIT_PASSWORD_RESET"):
        monkeypatch.delenv(name, raising=False)
    assert (Config.SITE_URL, Config.PASSWORD_RESET_MINUTES) == (None, 30)
    assert Config.RATELIMIT_PASSWORD_RESET == "5 per hour"
    monkeypatch.setenv("SITE_URL", " https://blog.example.com/microblog/ ")
    monkeypatch.setenv("PASSWORD_RESET_MINUTES", "15")
    monkeypatch.setenv("RATELIMIT_PASSWORD_RESET", "3/hour;10/day")
    assert Config.SITE_URL == "https://blog.example.com/microblog"
    assert Config.PASSWORD_RESET_MINUTES == 15
    assert Config.RATELIMIT_PASSWORD_RESET == "3/hour;10/day"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("SITE_URL", "blog.example.com", "is not the address of a site"),
        ("SITE_URL", "ftp://blog.example.com", "is not the address of a site"),
        ("SITE_URL", "https://blog.example.com:https", "is not the address of a site"),
        ("SITE_URL", "https://user:pw@blog.example.com", "is not the address of a site"),
        ("SITE_URL", "https://blog.example.com/?page=1", "is not the address of a site"),
        ("SITE_URL", "https://blog.example.com/#top", "is not the address of a site"),
        ("SITE_URL", "https://blog .example.com", "is not the address of a site"),
        ("PASSWORD_RESET_MINUTES", "0", "must be 1 or more"),
        ("PASSWORD_RESET_MINUTES", "half an hour", "is not a whole number"),
        ("RATELIMIT_PASSWORD_RESET", "5 per fortnight", "is not a rate limit"),
    ],
)
def test_the_reset_settings_are_parsed_strictly(monkeypatch, name, raw, message) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=re.escape(f"{name}={raw!r} {message}")):
        getattr(Config, name)


# --- With the rate-limit storage, JSON log lines, Sentry ------------------------------------


def test_a_link_is_sent_while_the_rate_limit_storage_is_away(
    app, client, alice, smtp, monkeypatch
):
    def storage_away(*args, **kwargs):
        raise StorageError(ConnectionError("Redis is restarting"))

    monkeypatch.setattr(limiter.limiter, "hit", storage_away)
    assert_answered_as_sent(ask_for_link(client, "alice@example.com"), client)
    assert token_of(link_in(smtp.inbox.wait_for(1)[0]))


def test_the_token_and_the_address_are_struck_from_json_lines_and_sentry(
    sentry, smtp, make_app, monkeypatch
):
    app = make_app(
        mail_port=smtp.port, SITE_URL=SITE_URL, LOG_FORMAT="json", SENTRY_DSN=sentry.dsn
    )
    # Not written out here: Sentry shows the source lines around each frame.
    token = "-".join(["r3set", "t0ken", "value"])
    address = "Someone.Asking@Example.com".lower()

    def failing_lookup(token: str) -> User:
        raise RuntimeError(f"no account for reset token {token}")

    def failing_send(address: str) -> bool:
        raise RuntimeError(f"could not mail {address}")

    monkeypatch.setattr(password_reset, "user_for_token", failing_lookup)
    monkeypatch.setattr(password_reset, "send_reset_link", failing_send)
    client = app.test_client()
    assert client.get(f"/reset_password/{token}").status_code == 500
    assert ask_for_link(client, address).status_code == 500

    text = log_text(app)
    errors = [line for line in map(json.loads, text.splitlines()) if line["level"] == "ERROR"]
    assert [line["path"] for line in errors] == [
        "/reset_password/[masked]",
        "/reset_password_request",
    ]
    assert errors[0]["message"] == "Exception on /reset_password/[masked] [GET]"
    assert errors[0]["traceback"].endswith("no account for reset token [masked]")
    assert errors[1]["traceback"].endswith("could not mail [masked]")
    events = sentry.wait_for_events(2)
    assert events[0]["request"]["url"] == "http://localhost/reset_password/[masked]"
    reports = "".join(body_of(message) for message in smtp.inbox.wait_for(2))
    for secret in (token, address):
        assert secret not in text
        assert secret.encode() not in sentry.raw
        assert secret not in reports
