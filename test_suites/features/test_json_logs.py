"""LOG_FORMAT=json: one JSON object a line, with the request's context, secrets struck out."""

import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from concurrent_log_handler import ConcurrentRotatingFileHandler
from flask import current_app
from flask_login import current_user

from config import Config, ConfigError
from testkit.apps import log_text
from testkit.clients import Auth, make_user
from testkit.leaks import MAIL_PASSWORD, crash_a_login


def json_lines(text: str) -> list[dict]:
    """Every line of ``text`` parsed; fails if any line is not a JSON object."""
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


def add_checkout(app):
    """A view of this module that logs twice, then fails: three lines from one request."""

    @app.route("/checkout")
    def checkout():
        current_app.logger.info("basket loaded: %d items", 3)
        current_app.logger.warning("payment provider slow")
        raise RuntimeError("payment provider declined")

    return checkout


def test_a_failing_request_writes_json_lines_with_its_context(make_app):
    app = make_app(LOG_FORMAT="json")
    view = add_checkout(app)
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    Auth(client).login()

    response = client.get("/checkout")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]

    lines = [line for line in json_lines(log_text(app)) if line["request_id"] == request_id]
    print("\n" + "\n".join(json.dumps(line, ensure_ascii=False) for line in lines))
    info, warning, error = lines
    here = f"{__file__}:{view.__code__.co_firstlineno + 2}"
    assert info == {
        "time": info["time"],
        "level": "INFO",
        "logger": "app",
        "message": "basket loaded: 3 items",
        "request_id": request_id,
        "method": "GET",
        "path": "/checkout",
        "user_id": "1",
        "source": here,
    }
    assert info["time"].endswith("+00:00")
    assert warning["level"] == "WARNING"
    assert warning["message"] == "payment provider slow"
    assert error["level"] == "ERROR"
    assert error["message"] == "Exception on /checkout [GET]"
    # The status the user gets, known once Flask has decided to answer with a 500.
    assert error["status"] == 500
    assert "status" not in info
    assert error["exc_type"] == "RuntimeError"
    assert error["traceback"].startswith("Traceback (most recent call last):\n")
    assert error["traceback"].endswith("RuntimeError: payment provider declined")
    assert error["user_id"] == "1"


def test_lines_outside_a_request_have_no_request_fields(make_app):
    app = make_app(LOG_FORMAT="json")
    # "Microblog startup", and the warning that password reset is off (no SITE_URL).
    lines = json_lines(log_text(app))
    assert lines[0]["message"] == "Microblog startup"
    for line in lines:
        assert line["request_id"] == "-"
        assert not {"method", "path", "status", "user_id", "exc_type", "traceback"} & set(line)


def test_exception_types_of_our_own_code_are_named_with_their_module(make_app):
    app = make_app(LOG_FORMAT="json")
    app.test_client().get("/crash/")
    error = json_lines(log_text(app))[-1]
    assert error["exc_type"] == "testkit.crashing.DeliberateFailure"
    assert "user_id" not in error  # anonymous


def test_line_breaks_in_a_message_stay_inside_one_json_line(make_app):
    app = make_app(LOG_FORMAT="json")
    app.test_client().get("/crash/text/x%0D%0A%7B%22level%22:%22forged%22%7D")
    lines = [line for line in json_lines(log_text(app)) if line["request_id"] != "-"]
    assert [line["level"] for line in lines] == ["ERROR"]
    assert lines[-1]["path"] == '/crash/text/x\r\n{"level":"forged"}'


@pytest.mark.parametrize(
    "line_break", ["\x0b", "\x1c", "\x7f", "\x85", "\u2028", "\u2029"], ids=repr
)
def test_characters_json_allows_raw_but_viewers_break_on_are_escaped(make_app, line_break):
    app = make_app(LOG_FORMAT="json")
    app.test_client().get("/crash/text/" + quote(f"x{line_break}FORGED", safe=""))
    text = log_text(app)
    assert line_break not in text
    assert text.splitlines() == text.rstrip("\n").split("\n")  # only "\n" ends a line
    lines = [line for line in json_lines(text) if line["request_id"] != "-"]
    assert [line["level"] for line in lines] == ["ERROR"]
    assert lines[-1]["path"] == f"/crash/text/x{line_break}FORGED"  # the value is unchanged


def test_a_record_that_cannot_be_formatted_is_still_one_json_line(make_app, capfd):
    app = make_app(LOG_FORMAT="json")
    # Straight to the app's own handlers: pytest's capturing handler would raise.
    record = app.logger.makeRecord(
        app.logger.name, logging.ERROR, __file__, 1, "order %d of %s declined", ("seven",), None
    )
    with app.test_request_context("/checkout"):
        for handler in app.logger.handlers:
            handler.handle(record)
    line = json_lines(log_text(app))[-1]
    assert line["level"] == "ERROR"
    assert line["message"] == "order %d of %s declined"
    assert line["incomplete"].startswith("TypeError")
    assert "Logging error" not in capfd.readouterr().err


def test_json_lines_never_hold_the_key_of_a_login(make_app):
    app = make_app(LOG_FORMAT="json")

    @app.route("/signed-in-as")
    def signed_in_as():
        # A careless line: what Flask-Login calls the user's id is the login's key.
        current_app.logger.info("signed in as %s", current_user.get_id())
        raise RuntimeError("after logging who it was")

    with app.app_context():
        make_user("alice")
    client = app.test_client()
    Auth(client).login()
    with client.session_transaction() as session:
        login_key = session["_user_id"]

    assert client.get("/signed-in-as").status_code == 500
    text = log_text(app)
    assert login_key not in text
    info, error = json_lines(text)[-2:]
    assert info["message"] == "signed in as [masked]"
    assert info["user_id"] == error["user_id"] == "1"


def test_json_lines_leak_no_secret(make_app, monkeypatch):
    app = make_app(LOG_FORMAT="json", MAIL_PASSWORD=MAIL_PASSWORD)

    def failing_check(user, password):
        current_app.logger.warning("checking %s", password)
        raise RuntimeError(
            f"hash backend down checking {password} with {current_app.secret_key} "
            f"and {current_app.config['MAIL_PASSWORD']}"
        )

    response, secrets = crash_a_login(app, monkeypatch, failing_check)
    assert response.status_code == 500

    text = log_text(app)
    warning, error = json_lines(text)[-2:]
    assert warning["message"] == "checking [masked]"
    assert "hash backend down checking [masked] with [masked] and [masked]" in error["traceback"]
    for secret in secrets:
        assert secret not in text


def test_extra_fields_are_kept_and_sensitive_ones_masked(make_app):
    app = make_app(LOG_FORMAT="json")
    with app.test_request_context("/"):
        app.logger.info("order placed", extra={"order": 7, "api_key": "k3y-v4lue"})
    line = json_lines(log_text(app))[-1]
    assert line["order"] == 7
    assert line["api_key"] == "[masked]"


def test_json_lines_go_to_the_same_multi_process_safe_log_file(make_app):
    app = make_app(LOG_FORMAT="json", LOG_MAX_BYTES=2000, LOG_BACKUP_COUNT=2)
    [handler] = [h for h in app.logger.handlers if getattr(h, "microblog", False)]
    assert isinstance(handler, ConcurrentRotatingFileHandler)
    client = app.test_client()
    for _ in range(10):
        client.get("/crash/")
    names = sorted(path.name for path in Path(app.config["LOG_DIR"]).glob("microblog.log*"))
    assert names == ["microblog.log", "microblog.log.1", "microblog.log.2"]
    json_lines(log_text(app))  # every line of every file is whole


def test_json_lines_go_to_standard_output_with_log_to_stdout(make_app, capsys):
    app = make_app(LOG_FORMAT="json", LOG_TO_STDOUT=True)
    response = app.test_client().get("/crash/")
    startup, *_, error = json_lines(capsys.readouterr().out)
    assert startup["message"] == "Microblog startup"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert error["exc_type"] == "testkit.crashing.DeliberateFailure"
    assert not Path(app.config["LOG_DIR"]).exists()


def test_text_stays_the_default_format(make_app):
    app = make_app()
    assert app.config["LOG_FORMAT"] == "text"
    assert not log_text(app).startswith("{")


@pytest.mark.parametrize(("raw", "parsed"), [("json", "json"), ("JSON", "json"), ("text", "text")])
def test_log_format_is_read_from_the_environment(monkeypatch, raw, parsed):
    monkeypatch.setenv("LOG_FORMAT", raw)
    setting = Config.LOG_FORMAT
    assert setting == parsed


def test_an_unknown_log_format_stops_the_app(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT='xml' is not one of text, json"):
        Config.LOG_FORMAT  # noqa: B018 - reading the setting is the test
