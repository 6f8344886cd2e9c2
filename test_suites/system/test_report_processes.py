"""Failure reports across processes: gunicorn's workers sharing log files, and process exit."""

import re
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from testkit.clients import LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import wait_until
from testkit.services.production import production_environment, run_python
from testkit.services.smtp import SmtpSink

pytestmark = pytest.mark.system

ADMIN = "ops@example.com"


def test_four_gunicorn_workers_lose_no_error_record_across_rotations(tmp_path):
    log_dir = tmp_path / "logs"
    # Small files, many of them: the workers rotate them under each other's feet.
    # The test names each failure (X-Request-ID) as a trusted proxy would.
    environment = production_environment(
        tmp_path,
        LOG_DIR=str(log_dir),
        LOG_MAX_BYTES="20000",
        LOG_BACKUP_COUNT="200",
        TRUSTED_PROXIES="1",
    )
    output = tmp_path / "gunicorn.out"

    def fail(url: str, number: int) -> int:
        request_id = {"X-Request-ID": f"req-{number}"}
        return LiveClient(url).get(f"/crash/{number}", headers=request_id).status

    with gunicorn_server(
        "testkit.crashing_app:app", environment=environment, output=output, workers=4
    ) as server:
        assert wait_until(lambda: log_text_in(log_dir).count("Microblog startup") == 4, 30)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda number: fail(server.url, number), range(200)))

    assert statuses == [500] * 200
    files = list(log_dir.glob("microblog.log*"))
    assert len(files) > 5, "rotation was not forced"
    intact = intact_error_records(log_text_in(log_dir))
    print(f"\n{len(intact)} of 200 error records found intact in {len(files)} files")
    assert intact == {f"req-{number}" for number in range(200)}
    assert log_text_in(log_dir).count("Microblog startup") == 4


def log_text_in(log_dir: Path) -> str:
    return "".join(path.read_text() for path in log_dir.glob("microblog.log*"))


def intact_error_records(text: str) -> set[str]:
    """Request ids whose record is whole: header line, traceback, matching last line."""
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} )", text.strip())
    intact = set()
    for record in records:
        header = re.match(
            r"\S+ \S+ ERROR \[req-(\d+)\] Exception on /crash/(\d+) \[GET\] \[in \S+:\d+\]\n"
            r"Traceback \(most recent call last\):\n",
            record,
        )
        if (
            header
            and header[1] == header[2]
            and record.endswith(f"DeliberateFailure: boom {header[1]}")
        ):
            intact.add(f"req-{header[1]}")
    return intact


def test_pending_reports_are_flushed_when_the_process_exits(smtp: SmtpSink, tmp_path):
    environment = production_environment(
        tmp_path,
        DATABASE_URL="sqlite://",
        MAIL_SERVER=smtp.host,
        MAIL_PORT=str(smtp.port),
        ADMINS=ADMIN,
    )
    script = textwrap.dedent(
        """
        from app import create_app
        from testkit.crashing import bp

        app = create_app()
        app.register_blueprint(bp)
        client = app.test_client()
        for _ in range(3):
            assert client.get("/crash/").status_code == 500
        """
    )
    done = run_python(environment, "-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    # The process is gone: whatever it had queued must already be here.
    subjects = [message["Subject"] for message in smtp.inbox.messages]
    assert subjects == [
        "Microblog Failure: DeliberateFailure at GET /crash/",
        "Microblog Failure: DeliberateFailure at GET /crash/ (repeated 2 more times)",
    ]
