"""LOG_FORMAT=json under gunicorn: workers sharing rotating log files lose and break no line."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from testkit.clients import LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import wait_until
from testkit.services.production import production_environment

pytestmark = pytest.mark.system

FAILURES = 120


def json_lines_in(log_dir: Path) -> list[dict]:
    """Every line of every log file, parsed: a broken or interleaved line fails here."""
    return [
        json.loads(line)
        for path in sorted(log_dir.glob("microblog.log*"))
        for line in path.read_text().splitlines()
    ]


def test_three_workers_write_whole_json_lines_across_rotations(tmp_path):
    log_dir = tmp_path / "logs"
    environment = production_environment(
        tmp_path,
        LOG_FORMAT="json",
        LOG_DIR=str(log_dir),
        LOG_MAX_BYTES="30000",
        LOG_BACKUP_COUNT="200",
    )

    def fail(number: int) -> tuple[int, str]:
        """The status and the request id the app gave failure ``number``.

        No proxy is trusted here (TRUSTED_PROXIES=0), so the app names every request
        itself and ignores the X-Request-ID a client sends.
        """
        reply = LiveClient(server.url).get(
            f"/crash/{number}", headers={"X-Request-ID": f"req-{number}"}
        )
        return reply.status, reply.request_id

    with gunicorn_server(
        "testkit.crashing_app:app",
        environment=environment,
        output=tmp_path / "gunicorn.out",
        workers=3,
    ) as server:

        def workers_started() -> int:
            lines = json_lines_in(log_dir)
            return len([line for line in lines if line["message"] == "Microblog startup"])

        assert wait_until(lambda: workers_started() == 3, 30)
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(fail, range(FAILURES)))

    assert [status for status, _ in replies] == [500] * FAILURES
    number_of = {request_id: number for number, (_, request_id) in enumerate(replies)}
    assert not [request_id for request_id in number_of if request_id.startswith("req-")]
    files = list(log_dir.glob("microblog.log*"))
    assert len(files) > 3, "rotation was not forced"
    errors = [line for line in json_lines_in(log_dir) if line["level"] == "ERROR"]
    print(f"\n{len(errors)} error lines, all whole JSON, in {len(files)} files")
    assert sorted(line["request_id"] for line in errors) == sorted(number_of)
    for line in errors:
        number = number_of[line["request_id"]]
        assert line["path"] == f"/crash/{number}"
        assert line["status"] == 500
        assert line["exc_type"] == "testkit.crashing.DeliberateFailure"
        assert line["traceback"].endswith(f"DeliberateFailure: boom {number}")
