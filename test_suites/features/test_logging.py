"""Log lines: the log file and its rotation, standard output, debug mode, request ids."""

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import current_app, request
from werkzeug.debug import DebuggedApplication
from werkzeug.test import Client

from app.reporting.escaping import traceback_text
from testkit.apps import log_text

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) \[(?P<rid>[^\]]+)\] "
    r"(?P<message>.*) \[in (?P<path>\S+):(?P<line>\d+)\]$",
    re.MULTILINE,
)

# --- The log file ---------------------------------------------------------------------


def test_log_lines_carry_time_level_request_id_and_place(make_app):
    app = make_app()

    # A view of this module, so that the line's place is known here.
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


def test_unhandled_errors_are_logged_once_with_their_traceback(make_app):
    app = make_app()
    response = app.test_client().get("/crash/")
    text = log_text(app)
    assert text.count("Exception on /crash/ [GET]") == 1
    assert f"ERROR [{response.headers['X-Request-ID']}] Exception on /crash/ [GET]" in text
    assert "DeliberateFailure: boom" in text


def test_log_files_rotate_by_size(make_app):
    app = make_app(LOG_MAX_BYTES=2000, LOG_BACKUP_COUNT=2)
    client = app.test_client()
    for _ in range(20):
        client.get("/crash/")
    names = sorted(path.name for path in Path(app.config["LOG_DIR"]).glob("microblog.log*"))
    assert names == ["microblog.log", "microblog.log.1", "microblog.log.2"]
    assert all(path.stat().st_size <= 4000 for path in Path(app.config["LOG_DIR"]).glob("*.log*"))


def test_log_to_stdout_writes_the_same_lines_to_standard_output(make_app, capsys):
    app = make_app(LOG_TO_STDOUT=True)
    response = app.test_client().get("/crash/")
    out = capsys.readouterr().out
    assert "INFO [-] Microblog startup" in out
    assert f"ERROR [{response.headers['X-Request-ID']}] Exception on /crash/ [GET]" in out
    assert not Path(app.config["LOG_DIR"]).exists()


def test_debug_mode_sends_no_email_and_writes_no_log_file(smtp, make_app):
    app = make_app(DEBUG=True, mail_port=smtp.port)
    response = Client(DebuggedApplication(app, evalex=True)).get("/crash/")
    assert "Werkzeug Debugger" in response.get_data(as_text=True)
    assert smtp.inbox.settle(1) == []
    assert not Path(app.config["LOG_DIR"]).exists()


# --- Request ids ----------------------------------------------------------------------


def test_every_response_has_a_fresh_request_id(client):
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/missing").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize("app_settings", [{"TRUSTED_PROXIES": 1}])
def test_a_trusted_proxys_sane_request_id_is_kept(client):
    response = client.get("/login", headers={"X-Request-ID": "lb-7f3a.9_x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.9_x"


@pytest.mark.parametrize("app_settings", [{"TRUSTED_PROXIES": 1}])
@pytest.mark.parametrize("incoming", ["", "has space", "a" * 129, "<script>", "-leading", "é"])
def test_an_odd_request_id_is_replaced_even_from_a_trusted_proxy(client, incoming):
    response = client.get("/login", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_without_a_trusted_proxy_the_clients_request_id_is_never_adopted(client):
    response = client.get("/login", headers={"X-Request-ID": "lb-7f3a.9_x"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


# --- Log lines cannot be forged ---------------------------------------------------------

FORGED = "2026-01-01 00:00:00,000 ERROR [forged] FORGED RECORD [in x.py:1]"
# Everything a log viewer or str.splitlines() could take for the start of a line.
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028"]


def assert_no_forged_line(text: str) -> None:
    assert text.splitlines() == text.rstrip("\n").split("\n")  # only "\n" ends a line
    assert not [line for line in text.split("\n") if line.startswith(FORGED[:23])]
    assert "FORGED RECORD" in text  # it was written, escaped, inside a real line


@pytest.mark.parametrize("line_break", LINE_BREAKS, ids=repr)
def test_line_breaks_in_a_path_cannot_forge_a_log_record(make_app, line_break):
    app = make_app()
    response = app.test_client().get("/crash/text/" + quote(f"x{line_break}{FORGED}", safe=""))
    assert response.status_code == 500
    text = log_text(app)
    assert_no_forged_line(text)
    [record] = [line for line in text.split("\n") if "Exception on /crash/text/x" in line]
    assert record.startswith(text.split("\n")[0][:2])  # a real record: starts with the year
    assert f"[{response.headers['X-Request-ID']}]" in record


@pytest.mark.parametrize("line_break", LINE_BREAKS, ids=repr)
def test_line_breaks_in_an_exception_message_cannot_forge_a_log_record(make_app, line_break):
    app = make_app()
    response = app.test_client().get("/crash/echo", query_string={"text": line_break + FORGED})
    assert response.status_code == 500
    text = log_text(app)
    assert_no_forged_line(text)
    # The traceback keeps its own lines.
    assert "\nTraceback (most recent call last):\n" in text
    assert '\n    raise DeliberateFailure(f"boom with' in text


def test_a_logged_message_quoting_the_client_stays_on_its_line(make_app):
    app = make_app()

    @app.route("/note")
    def note():
        current_app.logger.warning("odd input: %s", request.args["text"])
        return "ok"

    app.test_client().get("/note", query_string={"text": f"a\r\n{FORGED}\tb"})
    text = log_text(app)
    assert_no_forged_line(text)
    assert f"odd input: a\\r\\n{FORGED}\\tb [in" in text


class UnreadableError(Exception):
    def __str__(self) -> str:
        raise ValueError("no message")


def test_chained_exceptions_notes_and_groups_are_escaped_too():
    def failure_chain() -> BaseException:
        try:
            try:
                raise KeyError("first")
            except KeyError as first:
                second = ValueError(f"second\n{FORGED}")
                second.add_note(f"a note\r\n{FORGED}")
                raise second from first
        except ValueError as second:
            try:
                raise ExceptionGroup("group\n" + FORGED, [second, UnreadableError()])
            except ExceptionGroup as group:
                return group

    error = failure_chain()
    text = traceback_text((type(error), error, error.__traceback__))
    assert_no_forged_line(text)
    assert f"ValueError: second\\n{FORGED}" in text
    assert f"a note\\r\\n{FORGED}" in text
    assert "The above exception was the direct cause of the following exception:" in text
