"""Production settings for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py`` (project root).

Tune with environment variables (command-line flags override all of these):

- ``WEB_CONCURRENCY``: worker processes (default 2; about one or two per CPU core).
- ``GUNICORN_BIND``: address to listen on, e.g. ``0.0.0.0:8000``, ``unix:/run/mb.sock``
  or ``fd://3``; otherwise ``127.0.0.1:$PORT``; otherwise ``127.0.0.1:8000``.

Each access log line ends with the serving worker's pid and the request's
``X-Request-ID``, the id also found in the application's log lines, error reports
and 500 page. With more than one worker
and rate limits counted in ``memory://``, the first worker writes a warning to the
application's log: each worker would count on its own.
"""

import os


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise SystemExit(f"{name}={raw!r} must be at least 1")
    return value


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

# No runtime control socket (gunicornc): nothing outside this process manages it,
# and it would need a writable runtime directory.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Once the first worker has loaded the app, warn if rate limits count per worker.

    Only the app knows its settings (.env included) and only gunicorn its number
    of workers. The first worker of a start warns, not each of them.
    """
    from flask import Flask

    if worker.age == 1 and isinstance(worker.wsgi, Flask):
        from app.rate_limits import warn_if_counted_per_process

        warn_if_counted_per_process(worker.wsgi, worker.cfg.workers)
