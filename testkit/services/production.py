"""The environment of a live server in production mode, and its database schema."""

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from datetime import timedelta
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
        "EXPORT_DIR": str(workdir / "exports"),
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


def add_posts(database_url: str, username: str, count: int, text: str = "Post {n}") -> None:
    """``count`` posts of ``username`` (``text`` numbered from 0, one a minute back in
    time), written straight to a live server's database in one statement: many posts
    for a job to work through, without as many requests."""
    # Imported here: the suites' setup imports this module before coverage measures app/.
    import sqlalchemy as sa

    from app.database import utcnow
    from app.models import Post, User

    engine = sa.create_engine(database_url)
    now = utcnow()
    try:
        with engine.begin() as connection:
            user_id = connection.scalar(sa.select(User.id).where(User.username == username))
            rows = [
                {
                    "body": text.format(n=n),
                    "user_id": user_id,
                    "timestamp": now - timedelta(minutes=n),
                }
                for n in range(count)
            ]
            connection.execute(sa.insert(Post.__table__), rows)
    finally:
        engine.dispose()
