"""METRICS_ENABLED: Prometheus metrics at /metrics, counted in-process (one worker).

The multi-process mode of gunicorn is in test_suites/system/test_metrics_processes.py.
"""

import pytest
from flask import current_app

from app.mail import Email, send_email
from config import Config, ConfigError, parse_networks
from testkit.apps import log_text
from testkit.prometheus import parse_samples, sample, total
from testkit.services.processes import blackhole_port, free_port, wait_until

TOKEN = "a-scraper-token-long-enough"
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def metrics_of(client, **kwargs):
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    return parse_samples(response.get_data(as_text=True))


# --- What is counted ------------------------------------------------------------------------


def test_requests_are_counted_by_endpoint_method_and_status(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    for _ in range(3):
        client.get("/login")
    client.get("/crash/")
    client.get("/crash/status/403")
    client.get("/no/such/page")
    client.open("/login", method="BREW")  # a method nobody knows: one "other" label

    samples = metrics_of(client)
    requests = "microblog_http_requests_total"
    assert sample(samples, requests, endpoint="auth.login", method="GET", status="200") == 3
    assert sample(samples, requests, endpoint="crashing.crash", method="GET", status="500") == 1
    assert (
        sample(samples, requests, endpoint="crashing.fail_with_status", method="GET", status="403")
        == 1
    )
    assert sample(samples, requests, endpoint="unmatched", method="GET", status="404") == 1
    assert sample(samples, requests, endpoint="unmatched", method="other", status="405") == 1
    assert total(samples, requests) == 7  # the scrape itself counts once it has answered


def test_requests_refused_before_their_view_are_counted_too(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    response = client.post("/login", data={"username": "alice", "password": "x"})  # no token
    assert response.status_code == 400
    samples = metrics_of(client)
    refused = {"endpoint": "auth.login", "method": "POST", "status": "400"}
    assert sample(samples, "microblog_http_requests_total", **refused) == 1
    duration = {"endpoint": "auth.login", "method": "POST"}
    assert sample(samples, "microblog_http_request_duration_seconds_count", **duration) == 1


def test_request_durations_are_observed_by_endpoint_and_method(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    for _ in range(4):
        client.get("/login")
    samples = metrics_of(client)
    duration = "microblog_http_request_duration_seconds"
    labels = {"endpoint": "auth.login", "method": "GET"}
    assert sample(samples, f"{duration}_count", **labels) == 4
    assert 0 < sample(samples, f"{duration}_sum", **labels) < 10
    assert sample(samples, f"{duration}_bucket", le="+Inf", **labels) == 4


def test_unhandled_exceptions_are_counted_by_type_and_http_errors_are_not(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    client.get("/crash/")
    client.get("/crash/")
    client.get("/crash/other")
    client.get("/crash/status/404")
    samples = metrics_of(client)
    exceptions = "microblog_unhandled_exceptions_total"
    assert sample(samples, exceptions, type="testkit.crashing.DeliberateFailure") == 2
    assert sample(samples, exceptions, type="KeyError") == 1
    assert total(samples, exceptions) == 3


def test_error_report_emails_and_folded_repeats_are_counted(smtp, make_app):
    app = make_app(METRICS_ENABLED=True, mail_port=smtp.port)
    client = app.test_client()
    for _ in range(3):
        client.get("/crash/")  # the first is mailed, the repeats kept for a digest
    smtp.inbox.wait_for(1)
    emails = "microblog_error_emails_total"
    assert wait_until(
        lambda: sample(metrics_of(client), "microblog_error_reports_folded_total") == 2, 5
    )
    samples = metrics_of(client)
    assert sample(samples, emails, kind="report", outcome="sent") == 1
    assert sample(samples, emails, kind="digest", outcome="sent") == 0

    app.extensions["mail_sender"].stop()  # ends the window: the digest goes out
    samples = metrics_of(client)
    assert sample(samples, emails, kind="digest", outcome="sent") == 1
    assert total(samples, emails, outcome="failed") == 0
    assert sample(samples, "microblog_error_report_queue_length") == 0
    assert len(smtp.inbox.messages) == 2


def test_emails_that_could_not_be_sent_are_counted(make_app):
    app = make_app(METRICS_ENABLED=True, mail_port=free_port())  # nobody listens there
    client = app.test_client()
    client.get("/crash/")
    failed = {"kind": "report", "outcome": "failed"}
    assert wait_until(
        lambda: sample(metrics_of(client), "microblog_error_emails_total", **failed) == 1, 10
    )


def test_emails_to_users_are_counted_apart_from_error_reports(smtp, make_app):
    app = make_app(METRICS_ENABLED=True, mail_port=smtp.port)
    with app.app_context():
        send_email(Email(("reader@example.com",), "Hello from Microblog", "Hello."))
    app.extensions["mail_sender"].stop()  # what is queued is sent now
    samples = metrics_of(app.test_client())
    assert sample(samples, "microblog_emails_total", outcome="sent") == 1
    assert sample(samples, "microblog_emails_total", outcome="failed") == 0
    assert total(samples, "microblog_error_emails_total") == 0
    assert sample(samples, "microblog_error_report_queue_length") == 0


def test_emails_to_users_that_could_not_be_sent_are_counted(make_app):
    app = make_app(METRICS_ENABLED=True, mail_port=free_port())  # nobody listens there
    with app.app_context():
        send_email(Email(("reader@example.com",), "Hello from Microblog", "Hello."))
    app.extensions["mail_sender"].stop()
    samples = metrics_of(app.test_client())
    assert sample(samples, "microblog_emails_total", outcome="failed") == 1
    assert sample(samples, "microblog_emails_total", outcome="sent") == 0


def test_the_report_queue_length_is_shown(make_app):
    # A server that accepts connections and never answers: the sender hangs on the
    # first report for its timeout, and the next ones wait in the queue.
    with blackhole_port() as port:
        app = make_app(METRICS_ENABLED=True, mail_port=port, MAIL_TIMEOUT=5)
        client = app.test_client()
        client.get("/crash/")
        client.get("/crash/other")
        client.get("/crash/other")
        assert wait_until(
            lambda: sample(metrics_of(client), "microblog_error_report_queue_length") == 2, 5
        )


# --- Who may read them ----------------------------------------------------------------------


def test_metrics_are_off_by_default(make_app):
    app = make_app()
    assert "metrics" not in app.extensions
    assert app.test_client().get("/metrics").status_code == 404


def test_metrics_are_hidden_from_other_addresses(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    response = client.get("/metrics", environ_base=OUTSIDE)
    assert response.status_code == 404
    missing = client.get("/no/such/page", environ_base=OUTSIDE)
    assert response.get_data() == missing.get_data()  # the same page as for no page at all


def test_metrics_allow_takes_addresses_and_networks(make_app):
    client = make_app(
        METRICS_ENABLED=True,
        METRICS_ALLOW=parse_networks("METRICS_ALLOW", "10.0.0.0/8, 192.0.2.7"),
    ).test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 404
    assert client.get("/metrics").status_code == 404  # 127.0.0.1 is no longer in the list


def test_loopback_is_recognised_from_a_dual_stack_listener(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    mapped = {"REMOTE_ADDR": "::ffff:127.0.0.1"}  # IPv4 through an IPv6 socket
    assert client.get("/metrics", environ_base=mapped).status_code == 200
    outside = {"REMOTE_ADDR": "::ffff:203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 404


def test_the_bearer_token_opens_metrics_from_anywhere(make_app):
    client = make_app(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN).test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/metrics", environ_base=OUTSIDE, headers=bearer).status_code == 200
    for wrong in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
        response = client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": wrong})
        assert response.status_code == 404, wrong


def test_behind_a_proxy_the_clients_address_decides(make_app):
    # nginx on the same machine connects from 127.0.0.1; the client is the address
    # it appends to X-Forwarded-For.
    client = make_app(METRICS_ENABLED=True, TRUSTED_PROXIES=1).test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert client.get("/metrics", headers=forwarded).status_code == 404
    local = {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https"}
    assert client.get("/metrics", headers=local).status_code == 200


def test_openmetrics_is_served_to_scrapers_that_ask_for_it(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    plain = client.get("/metrics")
    assert plain.content_type.startswith("text/plain; version=")
    asked = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert asked.content_type.startswith("application/openmetrics-text")
    assert asked.get_data(as_text=True).endswith("# EOF\n")


def test_the_metrics_token_is_struck_from_log_lines(make_app):
    app = make_app(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN)

    @app.route("/leak")
    def leak():
        raise RuntimeError(f"token {current_app.config['METRICS_TOKEN']}")

    app.test_client().get("/leak")
    assert "RuntimeError: token [masked]" in log_text(app)
    assert TOKEN not in log_text(app)


# --- Settings -------------------------------------------------------------------------------


def test_metrics_allow_defaults_to_the_loopback_address():
    assert [str(network) for network in Config.METRICS_ALLOW] == ["127.0.0.1/32"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("10.0.0.0/8, ::1", ["10.0.0.0/8", "::1/128"]), ("none", []), ("NONE", [])],
)
def test_metrics_allow_is_read_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("METRICS_ALLOW", raw)
    assert [str(network) for network in Config.METRICS_ALLOW] == expected


def test_a_malformed_metrics_allow_stops_the_app(monkeypatch):
    monkeypatch.setenv("METRICS_ALLOW", "127.0.0.1, localhost")
    with pytest.raises(ConfigError, match="METRICS_ALLOW='127.0.0.1, localhost' is not a list"):
        Config.METRICS_ALLOW  # noqa: B018 - reading the setting is the test


def test_a_short_metrics_token_stops_the_app(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "secret")
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 16 characters"):
        Config.METRICS_TOKEN  # noqa: B018 - reading the setting is the test
