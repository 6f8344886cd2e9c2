"""Rate limits: where attempts are counted, and what happens when that store is away.

The limits themselves are declared on the views they guard (``app/auth/routes.py``,
``app/account/routes.py``).
Counts live in ``RATELIMIT_STORAGE_URI``: ``memory://`` counts in each worker
process, a Redis server counts for every worker and machine at once. When Redis
cannot be reached, Flask-Limiter counts in the process instead (with a warning in
the log file), looks for the server again now and then at a limited request, and
goes back to it once it answers: the site keeps serving and keeps limiting.

Flask-Limiter's ``init_app`` adds a before-request, an after-request and a
teardown hook to the whole app, so every request paid for them (about 0.1 ms of
CPU on a page that is never limited). This site has no default or
application-wide limit: every limit is declared on its view, and the view's
decorator checks it itself. So the before-request hook, which checks only the
default and application-wide limits, is dropped (it cost a limited view a second
pass over its limits); the after-request and teardown hooks, which add the
X-RateLimit headers after a view's check and reset its state, move to the
blueprints that have limited views.

Every limit is on the POSTs that check a password (``limit_posts``): looking at
a form is never limited. A GET of a limited view skips the limiter altogether,
its check and its two hooks, which had cost the sign-in page about a sixth of
its CPU for nothing (bench.page_parts).
"""

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, request
from limits import parse_many
from limits.errors import StorageError

from app.extensions import limiter
from config import ConfigError

# Counts of login attempts per target account, whatever the client's address.
ACCOUNT_SCOPE = "login-account"
# Flask-Limiter's settings that limit every view: not used here (see init_app).
APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION")
# The only method any view here is limited on.
LIMITED_METHOD = "POST"

View = Callable[..., Any]


def limit_posts(limit_value: Callable[[], str], error_message: str) -> Callable[[View], View]:
    """A view decorator: the view's POSTs count against ``limit_value`` per client address.

    Any other method goes straight to the view: the limiter would only find that
    none of its limits applies.
    """
    decorate = limiter.limit(limit_value, methods=[LIMITED_METHOD], error_message=error_message)

    def decorator(view: View) -> View:
        limited = decorate(view)

        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if request.method == LIMITED_METHOD:
                return limited(*args, **kwargs)
            return view(*args, **kwargs)

        return checked

    return decorator


TOO_MANY_ATTEMPTS = "Too many attempts from your address. Please wait a little and try again."


def password_attempts_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


# On every view whose POST checks or sets a password (app.auth, app.account).
limit_password_attempts = limit_posts(password_attempts_limit, error_message=TOO_MANY_ATTEMPTS)


def on_limited_requests(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One of the limiter's after-request or teardown hooks, run on POSTs only.

    On any other request the limiter has checked nothing, so its hook has no
    headers to add and no state to reset: the response (or error) goes through.
    """

    @functools.wraps(hook)
    def rate_limit_hook(value: Any = None) -> Any:
        return hook(value) if request.method == LIMITED_METHOD else value

    return rate_limit_hook


def attempt_allowed_on_account(username: str) -> bool:
    """Count one login attempt at ``username``; False once its allowance is spent.

    Names are counted lower-cased, as they log in, and hashed (a key of fixed
    length whatever was typed). While the limiter's store is away this counts in
    the process, as every limit then does.
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return True
    account = hashlib.sha256(username.lower().encode()).hexdigest()
    limits = parse_many(current_app.config["RATELIMIT_ACCOUNT"])
    try:
        # A list, not a generator: every window counts the attempt.
        return all([limiter.limiter.hit(limit, ACCOUNT_SCOPE, account) for limit in limits])
    except StorageError as error:
        # The store went away after this request's per-address check: let this one
        # attempt through uncounted; the next request finds the store down and
        # counts in the process.
        current_app.logger.warning(
            "Rate limit storage unreachable: a login attempt was not counted per account (%s)",
            error,
        )
        return True


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


def init_app(app: Flask, *limited: Blueprint) -> None:
    """Bind the limiter; its hooks run only for the views of the ``limited`` blueprints."""
    before = list(app.before_request_funcs[None])
    moved = (app.after_request_funcs, app.teardown_request_funcs)
    earlier_lists = [list(hooks[None]) for hooks in moved]
    limiter.init_app(app)
    # Flask-Limiter writes to a logger of its own that no handler of ours serves;
    # its warnings (storage down, counting in the process; storage back) belong in
    # the app's log file.
    limiter.logger = app.logger.getChild("rate_limits")
    app_wide = [name for name in APP_WIDE_LIMITS if app.config.get(name)]
    if app_wide:
        # limit_posts lets every GET through unchecked, and the hooks below run
        # only on POSTs: a limit on every view would not hold.
        raise ConfigError(
            f"{', '.join(app_wide)} is set, but this site limits only the views that "
            "declare a limit (app/security/rate_limits.py): declare it on those views instead"
        )
    app.before_request_funcs[None] = before
    for hooks, earlier in zip(moved, earlier_lists, strict=True):
        added = [hook for hook in hooks[None] if hook not in earlier]
        hooks[None] = earlier
        for blueprint in limited:
            # Registered before the blueprint: its own hooks come after these.
            hooks[blueprint.name].extend(on_limited_requests(hook) for hook in added)
