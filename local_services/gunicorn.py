"""Run the application under gunicorn on a free loopback port."""

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from local_services.ports import came_up, free_port
from local_services.processes import dies_with_parent

ROOT = Path(__file__).resolve().parent.parent


class GunicornFailed(RuntimeError):
    """gunicorn did not come up; the message holds the end of its output."""


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
    "-") is appended to ``output``.
    """
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
        command += ["--bind", f"127.0.0.1:{port}", *options, app]
        with output.open("ab") as log:
            server = subprocess.Popen(  # noqa: S603 - our own fixed command
                command,
                env=dict(environment),
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=dies_with_parent(),  # noqa: PLW1509 - ends with us even when killed
            )
        if came_up(server, url, start_timeout):
            break
        server.kill()
        server.wait()
    else:
        tail = output.read_text(errors="replace")[-1500:]
        raise GunicornFailed(f"gunicorn {app} did not start:\n{tail}")
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
