"""Production settings for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py`` (project root).

Tune with environment variables (command-line flags override all of these):

- ``WEB_CONCURRENCY``: worker processes (default 2; about one or two per CPU core).
- ``GUNICORN_BIND``: address to listen on, e.g. ``0.0.0.0:8000``, ``unix:/run/mb.sock``
  or ``fd://3``; otherwise ``127.0.0.1:$PORT``; otherwise ``127.0.0.1:8000``.

Each access log line ends with the serving worker's pid and the request's
``X-Request-ID``, the id also found in the application's log lines, error reports
and 500 page. The token of a password reset link is struck out of access log
lines (``AccessLogWithoutSecrets``). With more than one worker
and rate limits counted in ``memory://``, the first worker writes a warning to the
application's log: each worker would count on its own.

Prometheus metrics (``METRICS_ENABLED=1``) run in multi-process mode: each worker
writes its numbers to files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds up
every worker's, whichever worker answers. The hooks below give the workers that
folder (a private temporary one unless the variable names one, emptied of an
earlier run's files) and forget the live gauges of a worker that exits.
"""

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from gunicorn.glogging import Logger


def _whole_number(name: str, default: int) -> int:
    """A setting of 1 or more, parsed as config.py parses the app's; a clear exit if not."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    # Imported here, in the arbiter, and forgotten again: the workers import config.py
    # afresh with the app, so that a reload (HUP) runs the config.py on disk.
    already_loaded = "config" in sys.modules
    from config import ConfigError, parse_positive

    try:
        return parse_positive(name, raw)
    except ConfigError as error:
        raise SystemExit(str(error)) from None
    finally:
        if not already_loaded:
            del sys.modules["config"]


def _bind_address() -> str:
    explicit = os.environ.get("GUNICORN_BIND", "").strip()
    if explicit:
        return explicit
    # Loopback unless told otherwise: a reverse proxy on the same host talks to us.
    return f"127.0.0.1:{_whole_number('PORT', 8000)}"


wsgi_app = "microblog:app"
bind = [_bind_address()]
workers = _whole_number("WEB_CONCURRENCY", 2)
# Each worker imports and builds the app itself: no connections or threads are
# shared across fork, and a worker restart reloads the code cleanly.
preload_app = False

# A sync worker stuck this long on one request is killed and replaced.
timeout = 30
# On shutdown or reload, workers get this long to finish the requests they hold.
graceful_timeout = 30
# Keep idle client connections open briefly (used by threaded/async workers only).
keepalive = 5

# Access log on standard output; errors (gunicorn's own log) on standard error.
accesslog = "-"
errorlog = "-"
# <pid> is the worker that served the request.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %(p)s '
    "rid=%({x-request-id}o)s"
)

# The path of a password reset link, /reset_password/<token>, holds a secret: the
# token is struck out of every access log line (the request line, the Referer...),
# as the app strikes it out of its own log and its error reports. The app is not
# imported here, in the arbiter (workers must load it fresh), so the route is named
# twice: keep this in step with app/auth/routes.py.
SECRET_IN_PATH = re.compile(r"(/reset_password/)[^/?#\s\"]+")
MASKED = r"\1[masked]"


class AccessLogWithoutSecrets(Logger):
    """gunicorn's logger, with the secret part of reset links struck out of access lines."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO", "")  # decoded: /reset%5Fpassword/... is caught too
        if SECRET_IN_PATH.match(path):
            # Percent-encoded again, as the request line was sent: the decoded path may
            # hold line breaks (%0A), which would forge a line of the access log. WSGI
            # gives the path's bytes as latin-1 characters.
            bytes_of_path = SECRET_IN_PATH.sub(MASKED, path).encode("latin-1", "replace")
            masked = quote(bytes_of_path, safe="/[]")
            atoms["r"] = f"{environ['REQUEST_METHOD']} {masked} {environ['SERVER_PROTOCOL']}"
        elif "/reset_password/" not in atoms["f"]:
            return atoms  # nearly every request: nothing to strike
        return {
            name: SECRET_IN_PATH.sub(MASKED, value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }


logger_class = AccessLogWithoutSecrets

# No runtime control socket (gunicornc): nothing outside this process manages it,
# and it would need a writable runtime directory.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Once the first worker has loaded the app, warn if rate limits count per worker.

    Only the app knows its settings (.env included) and only gunicorn its number
    of workers. The first worker of a start warns, not each of them.
    """
    from flask import Flask

    # Microblog's app only: the benchmark serves its bare Flask ceiling with
    # these settings too, and they have no rate limits.
    microblog = isinstance(worker.wsgi, Flask) and "RATELIMIT_STORAGE_URI" in worker.wsgi.config
    if worker.age == 1 and microblog:
        from app.security.rate_limits import warn_if_counted_per_process

        warn_if_counted_per_process(worker.wsgi, worker.cfg.workers)


# --- Prometheus multi-process mode (see the top of this file) ---------------------------------

_metrics_folders_made = []


def on_starting(server):
    """Before the first worker: the folder where every worker writes its metrics."""
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if named:
        folder = Path(named)
        folder.mkdir(parents=True, exist_ok=True)
        # An earlier run's numbers would be added to this run's.
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        made = tempfile.mkdtemp(prefix="microblog-metrics-")
        _metrics_folders_made.append(made)
        # Set here, in the arbiter, before any worker is forked: every worker
        # inherits it before it imports prometheus_client, which reads it then.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made


def child_exit(server, worker):
    """A worker ended: its share of the live gauges (the report queue) no longer counts.

    Its counters and histograms stay in the folder: totals never go down.
    """
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for folder in _metrics_folders_made:
        shutil.rmtree(folder, ignore_errors=True)
