"""gunicorn.conf.py: what gunicorn really loads from it, and the server it then runs."""

import re
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

from bench.serving import GUNICORN_CONF, ROOT, Gunicorn


def check_gunicorn_config(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess:
    """Let gunicorn read gunicorn.conf.py, load the app and print its resolved settings."""
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--print-config"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "SECRET_KEY": secrets.token_hex(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "LOG_DIR": str(tmp_path),
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def resolved_gunicorn_settings(tmp_path: Path, **environment: str) -> str:
    result = check_gunicorn_config(tmp_path, **environment)
    assert result.returncode == 0, result.stderr
    return result.stdout


def setting(printed: str, name: str) -> str:
    match = re.search(rf"^{name}\s*=\s*(.*)$", printed, re.MULTILINE)
    assert match, f"{name} missing from gunicorn --print-config"
    return match.group(1).strip()


def test_gunicorn_conf_defaults_to_two_workers_on_loopback_without_control_socket(
    tmp_path: Path,
):
    printed = resolved_gunicorn_settings(tmp_path)
    assert setting(printed, "workers") == "2"
    assert setting(printed, "bind") == "['127.0.0.1:8000']"
    assert setting(printed, "preload_app") == "False"
    assert setting(printed, "timeout") == "30"
    assert setting(printed, "graceful_timeout") == "30"
    assert setting(printed, "accesslog") == "-"
    assert setting(printed, "control_socket_disable") == "True"
    assert setting(printed, "wsgi_app") == "microblog:app"


def test_gunicorn_conf_reads_workers_and_bind_from_the_environment(tmp_path: Path):
    printed = resolved_gunicorn_settings(tmp_path, WEB_CONCURRENCY="5", PORT="9123")
    assert setting(printed, "workers") == "5"
    assert setting(printed, "bind") == "['127.0.0.1:9123']"
    printed = resolved_gunicorn_settings(
        tmp_path, GUNICORN_BIND="unix:/run/microblog.sock", PORT="9123"
    )
    assert setting(printed, "bind") == "['unix:/run/microblog.sock']"


def test_gunicorn_conf_refuses_a_port_that_is_not_a_number(tmp_path: Path):
    result = check_gunicorn_config(tmp_path, PORT="eighty")
    assert result.returncode != 0
    assert "PORT='eighty' is not a whole number" in result.stdout + result.stderr


def test_access_log_lines_carry_the_request_id_the_response_had(tmp_path: Path):
    environment = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SECRET_KEY": secrets.token_hex(),
        "LOG_DIR": str(tmp_path),
        "MAIL_SERVER": "",
        "RATELIMIT_ENABLED": "0",
    }
    access_log = tmp_path / "access.log"
    with (
        access_log.open("w") as stdout,
        Gunicorn(env=environment, workers=1, stdout=stdout, ready_path="/login") as server,
    ):
        with urllib.request.urlopen(server.url + "/login", timeout=10) as response:  # noqa: S310
            assert response.status == 200
            request_id = response.headers["X-Request-ID"]
        incoming = urllib.request.Request(  # noqa: S310 - loopback URL we built
            server.url + "/login", headers={"X-Request-ID": "lb-42"}
        )
        with urllib.request.urlopen(incoming, timeout=10) as response:  # noqa: S310
            assert response.headers["X-Request-ID"] == "lb-42"
    lines = access_log.read_text().splitlines()
    served = [line for line in lines if '"GET /login HTTP/1.1" 200' in line]
    assert any(line.endswith(f"rid={request_id}") for line in served)
    assert any(line.endswith("rid=lb-42") for line in served)
