"""The real application served by gunicorn on a free loopback port, with a fresh database."""

import http.client
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# gunicorn binds port 0, so the OS picks a free port with no race; the log line
# names the port it got.
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
START_TIMEOUT = 60


def production_environment(workdir: Path) -> dict[str, str]:
    """Production settings around a fresh SQLite database in ``workdir``."""
    return {
        **os.environ,
        "FLASK_APP": "microblog.py",
        "FLASK_DEBUG": "0",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{workdir / 'microblog.db'}",
        "LOG_DIR": str(workdir / "logs"),
        "LOG_TO_STDOUT": "0",
        # Set to empty so that a developer's .env cannot switch failure emails on
        # during the crash journey (load_dotenv never overrides what is set).
        "MAIL_SERVER": "",
        "ADMINS": "",
        # Plain http on loopback: Secure cookies would not be sent back.
        "SESSION_COOKIE_SECURE": "0",
        # The journeys post forms quickly, like no person does.
        "RATELIMIT_ENABLED": "0",
    }


def upgrade_database(env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 - fixed command
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


class LiveServer:
    """One gunicorn process; ``url`` is its base URL, ``log`` its output file."""

    def __init__(self, app_spec: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - fixed command
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    "127.0.0.1:0",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--error-logfile",
                    "-",
                    app_spec,
                ],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            self.url = self.wait_until_listening()
            self.wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_listening(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = LISTENING.search(self.output())
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start:\n{self.output()[-3000:]}")

    def wait_until_answering(self) -> None:
        """The worker has imported the app and answers a page."""
        address = urlsplit(self.url)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
            try:
                connection.request("GET", "/login")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the application does not answer:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
