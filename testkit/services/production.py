"""The environment of a live server in production mode, and its database schema."""

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Passed through from our own environment: where programs are, and the locale.
# Nothing else, so that a developer's shell cannot change what the server does.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def production_environment(workdir: Path, **settings: str) -> dict[str, str]:
    """Production settings around a fresh SQLite database in ``workdir``; ``settings`` win.

    Mail and Sentry are off, and log lines are text: set, so that a developer's
    ``.env`` cannot change them (``load_dotenv`` never overrides what is already set).
    """
    inherited = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    return {
        "PATH": "/usr/bin:/bin",
        **inherited,
        "FLASK_APP": "microblog",
        "FLASK_DEBUG": "0",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{workdir / 'microblog.db'}",
        "LOG_DIR": str(workdir / "logs"),
        "LOG_TO_STDOUT": "0",
        "MAIL_SERVER": "",
        "ADMINS": "",
        "SENTRY_DSN": "",
        "LOG_FORMAT": "text",
        **settings,
    }


def run_python(
    environment: Mapping[str, str], *arguments: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Our own interpreter with ``arguments``, in the project root with exactly
    ``environment`` (a fresh process: nothing this one imported or set); its output
    as text."""
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, *arguments],
        cwd=ROOT,
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def upgrade_database(environment: dict[str, str]) -> None:
    """Run ``flask db upgrade`` against the environment's DATABASE_URL."""
    done = run_python(environment, "-m", "flask", "--app", "microblog", "db", "upgrade")
    if done.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}{done.stderr}")
