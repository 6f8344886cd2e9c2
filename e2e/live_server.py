"""How the browser suite runs the real application: production settings, fresh database.

The server itself is started by local_services.gunicorn (shared with the
scale-out tests), on a free 127.0.0.1 port with the project's gunicorn.conf.py.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POSTS_PER_PAGE = 5


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
        # Small pages, so that a few posts show the "Older posts" / "Newer posts" links.
        "POSTS_PER_PAGE": str(POSTS_PER_PAGE),
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
