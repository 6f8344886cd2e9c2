"""Microblog's Flask class: Flask, without two answers it worked out afresh on every request.

Both are measured on the anonymous pages, where they weigh most (instructions
counted under callgrind, in-process: docs/benchmark.md).
"""

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

# More distinct functions than the app's views, hooks and handlers together: a
# caller that made a new function per request must not grow the memo for ever.
MAX_CHECKED_FUNCTIONS = 1024


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, its signing serializer built once per set of keys.

    Flask builds one serializer to open the cookie and another to save it, and
    each new serializer encodes an empty dict to learn that it writes text: 4 % of
    the sign-in page's instructions.
    """

    def __init__(self) -> None:
        self.built: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # The keys decide the serializer: a key rotated in the config gets a new one.
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built = self.built
        if built is None or built[0] != keys:
            # One tuple, assigned at once: a thread never sees keys without theirs.
            built = self.built = (keys, super().get_signing_serializer(app))
        return built[1]


class Microblog(Flask):
    """The Flask app, with the session cookie above and async checks made once."""

    session_interface = SessionCookie()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.synchronous: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's answer for ``func``, worked out once per function.

        Flask asks it of every view, hook and handler on every request, each time
        looking through wrappers for a coroutine function: 18 times for a page,
        2.5 % of the sign-in page's instructions. A function's answer never changes.
        """
        try:
            return self.synchronous[func]
        except KeyError:
            sync = super().ensure_sync(func)
            if len(self.synchronous) < MAX_CHECKED_FUNCTIONS:
                self.synchronous[func] = sync
            return sync
        except TypeError:  # a callable that cannot be a dict key
            return super().ensure_sync(func)
