"""SENTRY_DSN: failures reach Sentry (a local stand-in here), tagged, with no secret in them."""

import contextlib
import json
import re
import subprocess
import textwrap
import time
from collections.abc import Iterator

import pytest
import sentry_sdk
from flask import current_app

from config import Config, ConfigError
from testkit.clients import Auth, make_user, page_text
from testkit.leaks import MAIL_PASSWORD, crash_a_login
from testkit.services.gunicorn import ROOT
from testkit.services.processes import blackhole_port, free_port
from testkit.services.production import production_environment, run_python
from testkit.services.sentry_receiver import dsn_for


def logged_in_client(app):
    with app.app_context():
        make_user("alice", email="alice@example.com")
    client = app.test_client()
    Auth(client).login()
    return client


def printable(event: dict) -> str:
    """The event as JSON, less the long lists of installed packages and source lines."""
    shown = {key: value for key, value in event.items() if key != "modules"}
    for value in shown.get("exception", {}).get("values", []):
        for frame in value.get("stacktrace", {}).get("frames", []):
            frame.pop("pre_context", None)
            frame.pop("post_context", None)
    return json.dumps(shown, indent=2)


# --- What an event carries ------------------------------------------------------------------


def test_a_crash_becomes_one_event_tagged_with_request_id_endpoint_and_user(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn, SENTRY_ENVIRONMENT="staging")
    client = logged_in_client(app)

    response = client.get("/crash/")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert f"Error reference: <code>{request_id}</code>" in page_text(response)

    [event] = sentry.wait_for_events(1)
    app.extensions["sentry"].flush(timeout=5)  # whatever else the request queued
    assert len(sentry.events) == 1  # the ERROR log line of the same exception is no second event
    print("\n" + printable(event))
    [exception] = event["exception"]["values"]
    assert exception["type"] == "DeliberateFailure"
    assert exception["module"] == "testkit.crashing"
    assert exception["value"] == "boom"
    assert exception["mechanism"] == {"type": "flask", "handled": False}
    assert event["tags"] == {
        "request_id": request_id,
        "endpoint": "crashing.crash",
        "user_id": "1",
    }
    assert event["transaction"] == "crashing.crash"
    # The id, and no email, name or IP address without SENTRY_SEND_PII.
    assert event["user"] == {"id": "1"}
    assert "alice" not in json.dumps(event)
    assert "REMOTE_ADDR" not in event["request"].get("env", {})
    assert event["environment"] == "staging"
    assert event["release"] == git_commit()


def test_an_error_logged_without_exception_becomes_an_event(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn)
    response = app.test_client().get("/crash/logged-error")
    assert response.status_code == 200
    [event] = sentry.wait_for_events(1)
    assert event["level"] == "error"
    assert event["logentry"]["message"] == "payment provider declined %s"
    assert event["logentry"]["params"] == ["order 7"]
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["tags"]["endpoint"] == "crashing.log_an_error"
    assert "user_id" not in event["tags"]  # anonymous


def test_send_pii_adds_the_users_email_and_address(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn, SENTRY_SEND_PII=True)
    logged_in_client(app).get("/crash/")
    [event] = sentry.wait_for_events(1)
    assert event["user"]["id"] == "1"
    assert event["user"]["email"] == "alice@example.com"
    assert event["user"]["ip_address"] == "127.0.0.1"


@pytest.mark.parametrize("send_pii", [False, True], ids=["default", "send-pii"])
def test_the_key_of_a_login_never_reaches_sentry(sentry, make_app, send_pii):
    # Flask-Login's "user id" (get_id, the session's _user_id) is the login's key,
    # which signs a browser in: the event's user id is the account's.
    app = make_app(SENTRY_DSN=sentry.dsn, SENTRY_SEND_PII=send_pii)
    client = logged_in_client(app)
    with client.session_transaction() as session:
        login_key = session["_user_id"]
    client.get("/crash/")
    [event] = sentry.wait_for_events(1)
    assert event["user"]["id"] == event["tags"]["user_id"] == "1"
    assert login_key.encode() not in sentry.raw


def test_sentry_release_and_environment_are_settings(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn, SENTRY_RELEASE="microblog@1.4.2")
    app.test_client().get("/crash/")
    [event] = sentry.wait_for_events(1)
    assert event["release"] == "microblog@1.4.2"
    assert event["environment"] == "production"


def test_no_performance_data_is_sent_by_default(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn)
    assert app.config["SENTRY_TRACES_SAMPLE_RATE"] == 0
    client = app.test_client()
    assert client.get("/login").status_code == 200
    client.get("/crash/")
    sentry.wait_for_events(1)
    app.extensions["sentry"].flush(timeout=5)  # whatever else the requests queued
    assert sentry.payloads("transaction") == []


def test_a_traced_request_is_scrubbed_as_events_are(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn, SENTRY_TRACES_SAMPLE_RATE=1.0)
    response = app.test_client().get("/login?token=sh0uld-n0t-leak")
    assert response.status_code == 200
    app.extensions["sentry"].flush(timeout=5)
    [transaction] = sentry.payloads("transaction")
    assert transaction["transaction"] == "auth.login"
    assert transaction["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert b"sh0uld-n0t-leak" not in sentry.raw


# --- Secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize("send_pii", [False, True], ids=["default", "send-pii"])
def test_no_secret_reaches_sentry(sentry, make_app, monkeypatch, send_pii):
    app = make_app(SENTRY_DSN=sentry.dsn, SENTRY_SEND_PII=send_pii, MAIL_PASSWORD=MAIL_PASSWORD)

    def failing_check(user, password):
        # The worst case: the secrets in local variables of innocent names, and in
        # the exception message itself.
        attempt = f"{user.username} with {password}"
        signing = current_app.secret_key
        raise RuntimeError(
            f"hash backend down checking {attempt} with {signing} "
            f"and {current_app.config['MAIL_PASSWORD']}"
        )

    response, secrets = crash_a_login(app, monkeypatch, failing_check, "/login?api_key=k3y-v4lue")
    assert response.status_code == 500

    [event] = sentry.wait_for_events(1)
    print(f"\n{printable(event)}")
    message = event["exception"]["values"][0]["value"]
    assert message == "hash backend down checking alice with [masked] with [masked] and [masked]"
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["function"] == "failing_check"
    assert frame["vars"]["password"] == "[masked]"
    assert frame["vars"]["attempt"] == "'alice with [masked]'"
    assert frame["vars"]["signing"] == "'[masked]'"
    raw = sentry.raw.decode()
    for secret in [*secrets, "k3y-v4lue"]:
        assert secret not in raw


def test_a_token_in_the_path_is_struck_out(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn)

    @app.route("/reset/<token>")
    def reset(token):
        raise RuntimeError(f"no account for reset token {token}")

    app.test_client().get("/reset/r3set-t0ken-value")
    [event] = sentry.wait_for_events(1)
    assert event["exception"]["values"][0]["value"] == "no account for reset token [masked]"
    assert event["request"]["url"] == "http://localhost/reset/[masked]"
    assert b"r3set-t0ken-value" not in sentry.raw


# --- Never in the way -----------------------------------------------------------------------


@contextlib.contextmanager
def unreachable_port(kind: str) -> Iterator[int]:
    """A port where nobody listens, or a blackhole: the kernel accepts, nobody answers."""
    if kind == "closed port":
        yield free_port()
        return
    with blackhole_port() as port:
        yield port


@pytest.mark.parametrize("kind", ["closed port", "blackhole"])
def test_an_unreachable_sentry_never_slows_or_breaks_a_request(make_app, kind):
    with unreachable_port(kind) as port:
        app = make_app(SENTRY_DSN=dsn_for(port))
        client = app.test_client()
        assert client.get("/login").status_code == 200  # warm: templates compiled

        timings = []
        for _ in range(20):
            started = time.perf_counter()
            response = client.get("/crash/")
            timings.append(time.perf_counter() - started)
            assert response.status_code == 500
            assert "Error reference:" in page_text(response)
        assert client.get("/login").status_code == 200
        print(f"\n{kind}: slowest of 20 failing requests {max(timings) * 1000:.0f} ms")
        assert max(timings) < 1.0  # the SDK's own timeout is 30 s: it never waited for it


def test_debug_mode_sends_nothing_to_sentry(sentry, make_app):
    app = make_app(DEBUG=True, SENTRY_DSN=sentry.dsn)
    assert "sentry" not in app.extensions
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.parametrize("dsn", [False, True], ids=["without-dsn", "with-dsn"])
def test_sentry_sdk_is_imported_only_with_a_dsn(tmp_path, sentry, dsn):
    # A fresh interpreter: this one has imported sentry_sdk long ago.
    script = textwrap.dedent(
        """
        import sys
        from app import create_app

        app = create_app()
        assert not app.debug and not app.testing
        print("sentry_sdk" in sys.modules)
        """
    )
    environment = production_environment(
        tmp_path, DATABASE_URL="sqlite://", SENTRY_DSN=sentry.dsn if dsn else ""
    )
    done = run_python(environment, "-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(dsn)


# --- Settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "often"])
def test_a_sample_rate_outside_0_to_1_stops_the_app(monkeypatch, raw):
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", raw)
    with pytest.raises(ConfigError, match=re.escape(f"SENTRY_TRACES_SAMPLE_RATE={raw!r}")):
        Config.SENTRY_TRACES_SAMPLE_RATE  # noqa: B018 - reading the setting is the test


def test_a_sample_rate_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", "0.25")
    rate = Config.SENTRY_TRACES_SAMPLE_RATE
    assert rate == 0.25


def git_commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
