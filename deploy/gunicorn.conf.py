"""Production settings for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py`` (project root).

Tune with environment variables (command-line flags override all of these):

- ``WEB_CONCURRENCY``: worker processes (default 2; about one or two per CPU core).
- ``GUNICORN_BIND``: address to listen on, e.g. ``0.0.0.0:8000``, ``unix:/run/mb.sock``
  or ``fd://3``; otherwise ``127.0.0.1:$PORT``; otherwise ``127.0.0.1:8000``.

Each access log line ends with the request's ``X-Request-ID``, the id also found in
the application's log lines, error reports and 500 page. The token of a password
reset link is struck out of access log lines (``AccessLogWithoutSecrets``).
"""

import os
import re

from gunicorn.glogging import Logger


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
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms rid=%({x-request-id}o)s'
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
            masked = SECRET_IN_PATH.sub(MASKED, path)
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
