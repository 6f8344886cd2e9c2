"""Log lines: the log file and its rotation, standard output, debug mode, request ids."""

import re
from pathlib import Path

import pytest
from flask import current_app
from werkzeug.debug import DebuggedApplication
from werkzeug.test import Client

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


def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/login", headers={"X-Request-ID": "lb-7f3a.9_x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.9_x"


@pytest.mark.parametrize("incoming", ["", "has space", "a" * 129, "<script>", "-leading", "é"])
def test_an_odd_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/login", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
