"""Rate limits: where attempts are counted, and what happens when that store is away.

The per-address limits are declared on the views they guard, with Flask-Limiter's
own decorator (``limit_password_attempts`` on every POST that checks or sets a
password: ``app/auth/routes.py``, ``app/account/routes.py``); looking at a form
(GET) is never limited. Two more counts are kept by the views themselves
(``count_attempt``): sign-in attempts per target account, and password reset
requests per client and per address asked for.

Counts live in ``RATELIMIT_STORAGE_URI``: ``memory://`` counts in each worker
process, a Redis server counts for every worker and machine at once. When Redis
cannot be reached, Flask-Limiter counts in the process instead (with a warning in
the log file), looks for the server again now and then at a limited request, and
goes back to it once it answers: the site keeps serving and keeps limiting.
"""

import hashlib

from flask import Flask, current_app
from limits import parse_many
from limits.errors import StorageError

from app.extensions import limiter

TOO_MANY_ATTEMPTS = "Too many attempts from your address. Please wait a little and try again."


def password_attempts_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


# On every view whose POST checks or sets a password, per client address.
limit_password_attempts = limiter.limit(
    password_attempts_limit, methods=["POST"], error_message=TOO_MANY_ATTEMPTS
)


def count_attempt(limits_text: str, scope: str, key: str, what: str) -> bool:
    """Count one attempt of ``scope`` by ``key``; False once an allowance is spent.

    ``limits_text`` is a setting such as "20 per hour; 100 per day": every window
    counts the attempt. While the limiter's store is away this counts in the
    process, as every limit then does; if the store goes away during this very
    request, this one attempt goes through uncounted (``what`` says which in the log).
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return True
    try:
        # A list, not a generator: every window counts the attempt.
        return all([limiter.limiter.hit(limit, scope, key) for limit in parse_many(limits_text)])
    except StorageError as error:
        current_app.logger.warning(
            "Rate limit storage unreachable: %s was not counted (%s)", what, error
        )
        return True


def digest(text: str) -> str:
    """A key of fixed length for the store, which never holds what was typed."""
    return hashlib.sha256(text.encode()).hexdigest()


def attempt_allowed_on_account(username: str) -> bool:
    """Count one login attempt at ``username`` (as it logs in: lower-cased)."""
    return count_attempt(
        current_app.config["RATELIMIT_ACCOUNT"],
        "login-account",
        digest(username.lower()),
        "a login attempt per account",
    )


def warn_if_counted_per_process(app: Flask, workers: int) -> None:
    """Warn when several worker processes would each keep their own counts.

    Called by deploy/gunicorn.conf.py once its first worker has loaded the app.
    """
    storage = app.config["RATELIMIT_STORAGE_URI"]
    if workers > 1 and storage.startswith("memory://") and app.config["RATELIMIT_ENABLED"]:
        app.logger.warning(
            "RATELIMIT_STORAGE_URI is %s with %d workers: each worker counts on its own, so "
            "a client gets up to %d times every rate limit. Point RATELIMIT_STORAGE_URI at "
            "a Redis server all workers reach (redis://host:6379).",
            storage,
            workers,
            workers,
        )


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    # Flask-Limiter writes to a logger of its own that no handler of ours serves;
    # its warnings (storage down, counting in the process; storage back) belong in
    # the app's log file.
    limiter.logger = app.logger.getChild("rate_limits")
