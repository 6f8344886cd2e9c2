"""Application settings, read from the environment when an app is created.

Each setting is an ``env(...)`` descriptor: nothing is read at import time, and a
subclass (tests, benchmarks) overrides a setting with a plain class attribute.
"""

import os
from collections.abc import Callable
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

BASE_DIR = Path(__file__).resolve().parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting in the environment cannot be understood."""


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"{name}={raw!r} is not a boolean: use one of 1/true/yes/on or 0/false/no/off"
    )


def parse_int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def parse_count(name: str, raw: str) -> int:
    value = parse_int(name, raw)
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must be 0 or more")
    return value


def parse_positive(name: str, raw: str) -> int:
    value = parse_int(name, raw)
    if value < 1:
        raise ConfigError(f"{name}={raw!r} must be 1 or more")
    return value


def parse_fraction(name: str, raw: str) -> float:
    """A number from 0 to 1, such as a sampling rate."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not 0 <= value <= 1:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 1")
    return value


def parse_list(name: str, raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def one_of(*choices: str) -> Callable[[str, str], str]:
    """A parser accepting only ``choices`` (in any letter case)."""

    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name}={raw!r} is not one of {', '.join(choices)}")
        return value

    return parse


def parse_networks(name: str, raw: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated addresses or networks (``127.0.0.1, 10.0.0.0/8``), or ``none``."""
    if raw.strip().lower() == "none":
        return ()
    try:
        return tuple(ip_network(item, strict=False) for item in parse_list(name, raw))
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a list of IP addresses or networks") from None


def parse_token(name: str, raw: str) -> str:
    """A shared secret long enough not to be guessed."""
    token = raw.strip()
    if len(token) < 16:
        raise ConfigError(
            f"{name} must be at least 16 characters: generate one with "
            'python -c "import secrets; print(secrets.token_urlsafe())"'
        )
    return token


def parse_path(name: str, raw: str) -> str:
    """Relative paths are taken from the project root, never the working directory."""
    return str((BASE_DIR / raw.strip()).resolve())


def parse_rate_limit(name: str, raw: str) -> str:
    """A Flask-Limiter rate such as ``10 per minute`` (or ``5/minute;100/day``)."""
    try:
        parse_many(raw.strip())
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a rate limit: write e.g. '10 per minute'"
        ) from None
    return raw.strip()


def is_site_address(url: str) -> bool:
    """An http(s) address of a host, maybe with a port and a path; nothing else."""
    if any(character.isspace() for character in url):
        return False
    parts = urlsplit(url)
    try:
        port = parts.port  # a port that is not a number raises here
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and not parts.query
        and not parts.fragment
        and port != 0
    )


def parse_site_url(name: str, raw: str) -> str:
    """The site's public address, such as ``https://blog.example.com`` (no final slash)."""
    url = raw.strip().rstrip("/")
    if not is_site_address(url):
        raise ConfigError(
            f"{name}={raw!r} is not the address of a site: write e.g. 'https://blog.example.com'"
        )
    return url


def parse_database_url(name: str, raw: str) -> str:
    """Accept Heroku-style ``postgres://`` and send PostgreSQL through psycopg 3."""
    url = raw.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class env:  # noqa: N801 - reads like a declaration: SECRET_KEY = env(...)
    """A setting read from ``os.environ`` each time the config is loaded."""

    def __init__(
        self,
        default: Any = None,
        parse: Callable[[str, str], Any] | None = None,
        *,
        var: str | None = None,
    ) -> None:
        self.default = default
        self.parse = parse
        self.name = var

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, obj: object, owner: type) -> Any:
        raw = os.environ.get(self.name)
        if raw is None or raw.strip() == "":
            return self.default
        return self.parse(self.name, raw) if self.parse else raw


class derived:  # noqa: N801 - reads like a declaration, as env(...) does
    """A setting computed from other settings of the same config class."""

    def __init__(self, compute: Callable[[type], Any]) -> None:
        self.compute = compute

    def __get__(self, obj: object, owner: type) -> Any:
        return self.compute(owner)


REDIS_SCHEMES = ("redis://", "rediss://")
THREAD_QUEUE = "thread"


def parse_job_queue(name: str, raw: str) -> str:
    """``thread`` (a background thread in each process) or a Redis URL (RQ)."""
    value = raw.strip()
    if value.lower() == THREAD_QUEUE:
        return THREAD_QUEUE
    if not value.startswith(REDIS_SCHEMES):
        raise ConfigError(
            f"{name}={raw!r} is neither 'thread' nor a Redis URL (redis://host:6379/0)"
        )
    return value


def job_queue(config: type) -> str:
    """JOBS_QUEUE_URL, or else the rate limits' Redis, or else a thread of each process."""
    if config.JOBS_QUEUE_URL:
        return config.JOBS_QUEUE_URL
    storage = config.RATELIMIT_STORAGE_URI
    return storage if storage.startswith(REDIS_SCHEMES) else THREAD_QUEUE


def rate_limit_storage_options(config: type) -> dict[str, object]:
    """Storage errors raised as limits' StorageError; a Redis that does not answer
    costs a request a second at most, not a worker hung on a dead connection."""
    options: dict[str, object] = {"wrap_exceptions": True}
    if config.RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://")):
        options |= {"socket_connect_timeout": 1, "socket_timeout": 1}
    return options


class Config:
    SECRET_KEY = env()
    # The address people reach the site at, for links in emails (password resets):
    # never taken from a request's Host header, which the client chooses.
    SITE_URL = env(None, parse_site_url)
    SQLALCHEMY_DATABASE_URI = env(
        f"sqlite:///{BASE_DIR / 'app.db'}", parse_database_url, var="DATABASE_URL"
    )
    # A pooled connection is tested before use: after a database restart, failover
    # or idle-connection cull, each worker reconnects instead of failing a request.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    POSTS_PER_PAGE = env(20, parse_int)
    # How often an open page asks for the unread counts of its navigation bar (while
    # it is in view: static/unread-counts.js).
    UNREAD_POLL_SECONDS = env(30, parse_positive)
    # Bootstrap's CSS and JavaScript come from this site: it works offline and
    # within a Content-Security-Policy that allows only 'self'.
    BOOTSTRAP_SERVE_LOCAL = True
    # The languages the site is offered in, a catalogue each in app/translations/
    # (docs/languages.md); English, the code's own, first. Not a setting of the
    # environment: a language is added with its catalogue, in the code.
    LANGUAGES = ("en", "es")

    MAIL_SERVER = env()
    MAIL_PORT = env(25, parse_int)
    MAIL_USE_TLS = env(False, parse_bool)
    MAIL_USE_SSL = env(False, parse_bool)
    MAIL_USERNAME = env()
    MAIL_PASSWORD = env()
    MAIL_SENDER = env()
    MAIL_TIMEOUT = env(5, parse_int)
    ADMINS = env([], parse_list)
    ERROR_EMAIL_WINDOW = env(600, parse_int)

    LOG_DIR = env(str(BASE_DIR / "logs"), parse_path)
    LOG_MAX_BYTES = env(1024 * 1024, parse_int)
    LOG_BACKUP_COUNT = env(10, parse_int)
    LOG_TO_STDOUT = env(False, parse_bool)
    # text: the classic line with the traceback below it; json: one JSON object per
    # line, for log collectors (docs/observability.md).
    LOG_FORMAT = env("text", one_of("text", "json"))

    # Sentry (docs/observability.md): nothing of the SDK is loaded without a DSN.
    SENTRY_DSN = env()
    SENTRY_ENVIRONMENT = env("production")
    # Unset: the git commit of the code, when it runs from a git checkout.
    SENTRY_RELEASE = env()
    # The user's email and name, and the client's IP address; the user id is always sent.
    SENTRY_SEND_PII = env(False, parse_bool)
    SENTRY_TRACES_SAMPLE_RATE = env(0.0, parse_fraction)

    # Prometheus metrics at /metrics (docs/observability.md), readable from the
    # METRICS_ALLOW addresses or with "Authorization: Bearer <METRICS_TOKEN>"; a 404
    # for anyone else. Under gunicorn, deploy/gunicorn.conf.py sets up the
    # multi-process mode (PROMETHEUS_MULTIPROC_DIR) that adds up every worker's numbers.
    METRICS_ENABLED = env(False, parse_bool)
    METRICS_ALLOW = env(parse_networks("METRICS_ALLOW", "127.0.0.1"), parse_networks)
    METRICS_TOKEN = env(None, parse_token)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Also turns on HSTS (see app.security.headers).
    SESSION_COOKIE_SECURE = env(False, parse_bool)
    REMEMBER_COOKIE_SECURE = derived(lambda config: config.SESSION_COOKIE_SECURE)
    REMEMBER_COOKIE_DAYS = env(30, parse_int)
    REMEMBER_COOKIE_DURATION = derived(lambda config: timedelta(days=config.REMEMBER_COOKIE_DAYS))
    MAX_CONTENT_LENGTH = env(1024 * 1024, parse_int)
    # How long a password reset link works.
    PASSWORD_RESET_MINUTES = env(30, parse_positive)

    # The site's public host name (and port, if not the default), e.g.
    # blog.example.com. Error reports show their URL on this host, and name the host a
    # client asked for when it is another; Flask builds external URLs with it.
    SERVER_NAME = env()

    # How many reverse proxies (nginx, a load balancer) stand in front of the app.
    # Only then are their X-Forwarded-For/-Proto/-Host and X-Request-ID headers
    # believed: the client address (what rate limits and reports see), https, the
    # public host name and the request id.
    TRUSTED_PROXIES = env(0, parse_count)

    # POST /login, /register and /change_password, per client address.
    RATELIMIT_AUTH = env("10 per minute", parse_rate_limit)
    # POST /login per target account (the username, lower-cased), whatever the
    # addresses: a locked account answers exactly as a wrong password does.
    RATELIMIT_ACCOUNT = env("20 per hour", parse_rate_limit)
    # POST /reset_password_request, per client address and per email address asked for.
    RATELIMIT_PASSWORD_RESET = env("5 per hour", parse_rate_limit)
    # POSTs that write, edit or delete a post (or a reply), per signed-in user.
    RATELIMIT_WRITING = env("20 per minute; 200 per hour", parse_rate_limit)
    # Calls of the API, per token (its writes count against RATELIMIT_WRITING too).
    RATELIMIT_API = env("300 per minute", parse_rate_limit)
    # Private messages sent, per signed-in user (POST /messages/<username>).
    RATELIMIT_MESSAGES = env("20 per minute; 300 per hour", parse_rate_limit)
    # memory:// counts per worker process; redis:// or memcached:// URIs share counts
    # between workers and machines.
    RATELIMIT_STORAGE_URI = env("memory://")
    RATELIMIT_ENABLED = env(True, parse_bool)
    # While the storage cannot be reached, each process counts on its own (with a
    # warning in the log) instead of failing requests, and returns to the storage
    # once it answers again.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = derived(rate_limit_storage_options)

    # Background jobs (docs/jobs.md): exports and account deletions. Unset, the queue
    # is RQ on the rate limits' Redis when they use one, else a thread of each process.
    JOBS_QUEUE_URL = env(None, parse_job_queue)
    JOBS_QUEUE = derived(job_queue)
    # A job is tried this many times when its worker stops under it or it fails.
    JOB_MAX_ATTEMPTS = env(3, parse_positive)
    # A running job that has not reported progress for this long lost its worker.
    JOB_STALL_SECONDS = env(60, parse_positive)
    # Where exports are written (shared by the web servers and the workers).
    EXPORT_DIR = env(str(BASE_DIR / "instance" / "exports"), parse_path)
    EXPORT_DOWNLOAD_HOURS = env(24, parse_positive)
    # Rows read (and held in memory) at a time while an export is written.
    EXPORT_BATCH_SIZE = env(500, parse_positive)
