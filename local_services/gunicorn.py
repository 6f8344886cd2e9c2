"""Run the application under gunicorn on a free loopback port."""

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from local_services.processes import serving_on_free_port

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def gunicorn_server(
    app: str,
    environment: Mapping[str, str],
    output: Path,
    *,
    workers: int = 2,
    options: Sequence[str] = (),
    cwd: Path = ROOT,
    start_timeout: float = 60,
) -> Iterator[str]:
    """Serve ``app`` (``module:variable``); yield its base URL; stop it at the end.

    gunicorn's own output (errors, and the access log if ``options`` sends it to
    "-") is appended to ``output``; ``ServerFailed`` if it never answers.
    """

    def command_for(port: int) -> list[str]:
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
        return [*command, "--bind", f"127.0.0.1:{port}", *options, app]

    with serving_on_free_port(
        f"gunicorn {app}", command_for, output, start_timeout, env=dict(environment), cwd=cwd
    ) as url:
        yield url
