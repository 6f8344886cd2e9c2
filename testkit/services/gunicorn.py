"""The one way to run the application under gunicorn, on a free loopback port.

with gunicorn_server(environment=production_environment(workdir), output=log) as server:
    server.url       # http://127.0.0.1:<port>
    server.process   # the arbiter (its children are the workers)
"""

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from testkit.services.processes import Server, serving_on_free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path("deploy", "gunicorn.conf.py")  # in every checkout of the project
GUNICORN_CONF = ROOT / CONFIG


@contextlib.contextmanager
def gunicorn_server(
    app: str = "microblog:app",
    *,
    environment: Mapping[str, str],
    output: Path,
    workers: int = 2,
    options: Sequence[str] = (),
    config: Path | None = CONFIG,
    root: Path = ROOT,
    start_timeout: float = 60,
    own_url_as: str | None = None,
) -> Iterator[Server]:
    """Serve ``app`` (``module:variable``) until the block ends.

    ``root`` is the source tree served (another checkout, for the benchmark's
    comparisons): the working directory, on PYTHONPATH. ``config`` is the
    production settings file, relative to ``root`` (None: gunicorn's defaults);
    the port, ``workers`` and ``options`` given here override it. gunicorn's output
    (its errors, and the access log, which the production settings send to
    standard output) is appended to ``output``; ``ServerFailed`` if it never answers.
    ``own_url_as`` names a setting that gets the server's own address (such as
    SITE_URL), which is known only once the port is chosen.
    """

    def command_for(port: int) -> list[str]:
        command = [sys.executable, "-m", "gunicorn"]
        if config is not None:
            command += ["--config", str(root / config)]
        command += ["--chdir", str(root), "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
        if own_url_as is not None:
            command += ["--env", f"{own_url_as}=http://127.0.0.1:{port}"]
        return [*command, *options, app]

    # The tree's own modules first, whatever the interpreter's installed packages hold.
    served = {**environment, "PYTHONPATH": str(root)}
    with serving_on_free_port(
        f"gunicorn {app}", command_for, output, start_timeout, env=served, cwd=root
    ) as server:
        yield server
