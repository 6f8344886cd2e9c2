"""Rate limits: where attempts are counted, and what happens when that store is away.

The limits are declared on the views they guard: ``limit_password_attempts``
(per address) on every POST that checks or sets a password (``app/auth/routes.py``,
``app/account/routes.py``), ``limit_writing`` (per signed-in user) on every POST
that writes, edits or deletes a post (``app/main/routes.py``,
``app/posts/routes.py``), ``limit_messaging`` (per signed-in user) on sending a
private message (``app/messages/routes.py``); looking at a form (GET) is never
limited. The API's views (``app/api/``) count every call, whatever its method, per
token (``limit_api_calls``), its writes share the writing allowance
(``limit_api_writing``) and its messages the messaging one (``limit_api_messaging``):
a script writes no faster than a person. Two more counts are kept by the views
themselves (``count_attempt``): sign-in attempts per target account, and password
reset requests per client and per address asked for.

One departure from Flask-Limiter's plain use, kept because it measured +12 to
+21 % req/s on the pages that are never limited (docs/performance.md):
``init_app`` adds a before-request, an after-request and a teardown hook to the
whole app. This site has no default or application-wide limit, so the
before-request hook (which checks only those) is dropped, and the other two run
only on the POSTs of the blueprints with limited views (``init_app`` below) and
on the calls of views that count every method (``limit_requests``, the API's); a
GET of a form's view skips the limiter altogether (``limit_posts``).

Counts live in ``RATELIMIT_STORAGE_URI``: ``memory://`` counts in each worker
process, a Redis server counts for every worker and machine at once. When Redis
cannot be reached, Flask-Limiter counts in the process instead (with a warning in
the log file), looks for the server again now and then at a limited request, and
goes back to it once it answers: the site keeps serving and keeps limiting.
"""

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many
from limits.errors import StorageError

from app.extensions import limiter
from app.languages import N_
from config import ConfigError

# Flask-Limiter's settings that limit every view: not used here (see init_app).
APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION")
# The only method any view here is limited on.
LIMITED_METHOD = "POST"
View = Callable[..., Any]

TOO_MANY_ATTEMPTS = N_("Too many attempts from your address. Please wait a little and try again.")
TOO_MANY_POSTS = N_("You are posting faster than this site allows. Please wait a little.")
TOO_MANY_CALLS = N_(
    "This token is calling the API faster than this site allows. Please wait a little."
)
# Set on a request whose view counts every method (``limit_requests``): the
# limiter's hooks then run for it as for a POST.
EVERY_METHOD_COUNTED = "rate_limit_every_method"


def limiter_decorator(
    limit_value: Callable[[], str], shared_scope: str | None, **options: Any
) -> Callable[[View], View]:
    """Flask-Limiter's decorator for ``limit_value``: the view's own, or one shared by the
    views of ``shared_scope``."""
    if shared_scope is None:
        return limiter.limit(limit_value, **options)
    return limiter.shared_limit(limit_value, shared_scope, **options)


TOO_MANY_MESSAGES = N_(
    "You are sending messages faster than this site allows. Please wait a little."
)


def limit_posts(
    limit_value: Callable[[], str],
    error_message: str,
    key_func: Callable[[], str] | None = None,
    shared_scope: str | None = None,
) -> Callable[[View], View]:
    """A view decorator: the view's POSTs count against ``limit_value`` per ``key_func``
    (the client address when not given); with ``shared_scope``, every view so
    decorated counts against the same allowance, otherwise each view has its own.

    Any other method goes straight to the view: the limiter would only find that
    none of its limits applies.
    """
    decorate = limiter_decorator(
        limit_value,
        shared_scope,
        key_func=key_func,
        methods=[LIMITED_METHOD],
        error_message=error_message,
    )

    def decorator(view: View) -> View:
        limited = decorate(view)

        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if request.method == LIMITED_METHOD:
                return limited(*args, **kwargs)
            return view(*args, **kwargs)

        return checked

    return decorator


def limit_requests(
    limit_value: Callable[[], str],
    error_message: str,
    key_func: Callable[[], str],
    shared_scope: str | None = None,
) -> Callable[[View], View]:
    """A view decorator: every call of the view, whatever its method, counts against
    ``limit_value`` per ``key_func`` (shared by the views of ``shared_scope``)."""
    decorate = limiter_decorator(
        limit_value, shared_scope, key_func=key_func, error_message=error_message
    )

    def decorator(view: View) -> View:
        limited = decorate(view)

        # Wrapping the limited view, its marks included: when two such decorators
        # stack, Flask-Limiter then checks once, the innermost checking every limit
        # of the view (otherwise each would count the other's too).
        @functools.wraps(limited)
        def counted(*args: Any, **kwargs: Any) -> Any:
            g.setdefault(EVERY_METHOD_COUNTED, True)
            return limited(*args, **kwargs)

        return counted

    return decorator


def on_limited_requests(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One of the limiter's after-request or teardown hooks, run on POSTs only.

    On any other request the limiter has checked nothing, so its hook has no
    headers to add and no state to reset: the response (or error) goes through.
    """

    @functools.wraps(hook)
    def rate_limit_hook(value: Any = None) -> Any:
        counted = request.method == LIMITED_METHOD or g.get(EVERY_METHOD_COUNTED, False)
        return hook(value) if counted else value

    return rate_limit_hook


def password_attempts_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


# On every view whose POST checks or sets a password, per client address.
limit_password_attempts = limit_posts(password_attempts_limit, error_message=TOO_MANY_ATTEMPTS)


def writing_limit() -> str:
    return current_app.config["RATELIMIT_WRITING"]


def writer() -> str:
    """Whose writing a POST counts as: the signed-in user's, wherever they write from."""
    # Through the API, the token's user (set by app/api/authentication.py).
    api_user_id = g.get("api_user_id")
    if api_user_id is not None:
        return f"user-{api_user_id}"
    if current_user.is_authenticated:
        return f"user-{current_user.id}"
    return get_remote_address()


# On every view whose POST writes a post (a new one, a reply, an edit, a deletion):
# one allowance for all of them.
limit_writing = limit_posts(
    writing_limit, error_message=TOO_MANY_POSTS, key_func=writer, shared_scope="writing"
)


def api_calls_limit() -> str:
    return current_app.config["RATELIMIT_API"]


def api_token() -> str:
    """Whose API calls a request counts as: its token's (app/api/authentication.py)."""
    return f"token-{g.api_token_id}"


# On every view of the API that takes a token: each token has one allowance for them all.
limit_api_calls = limit_requests(
    api_calls_limit, TOO_MANY_CALLS, key_func=api_token, shared_scope="api"
)
# On every view of the API that writes a post (a new one, a reply, an edit, a
# deletion): the same allowance as the site's own forms (``limit_writing``).
limit_api_writing = limit_requests(
    writing_limit, TOO_MANY_POSTS, key_func=writer, shared_scope="writing"
)


def messaging_limit() -> str:
    return current_app.config["RATELIMIT_MESSAGES"]


# On sending a private message, per signed-in user, whoever the messages go to: an
# allowance of its own, so that writing posts does not spend it, nor the other way.
limit_messaging = limit_posts(
    messaging_limit, error_message=TOO_MANY_MESSAGES, key_func=writer, shared_scope="messaging"
)
# On the API's view that sends a message: the same allowance as the site's form
# (``limit_messaging``), counted as the API's other limits are (``limit_requests``,
# so that it stacks with ``limit_api_calls`` and the two are checked once).
limit_api_messaging = limit_requests(
    messaging_limit, TOO_MANY_MESSAGES, key_func=writer, shared_scope="messaging"
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
