"""Brute-force protection: POSTs that check or set a password are rate limited.

Each app gets its own ``Limiter`` (and so its own storage): Flask-Limiter keeps
its storage and switches on the extension object, so a module-level one would
share counts between the apps that tests (or several app factories) build.
"""

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# POST only: looking at a form is never limited.
LIMITED_ENDPOINTS = ("main.login", "main.register", "main.change_password")
TOO_MANY_ATTEMPTS = "Too many attempts from your address. Please wait a little and try again."


def auth_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


def init_app(app: Flask) -> None:
    """Limit the password forms per client address (``RATELIMIT_*`` settings)."""
    # RATELIMIT_ENABLED and RATELIMIT_STORAGE_URI are read from app.config by
    # Flask-Limiter itself. The address is the request's remote address: trusting a
    # reverse proxy's X-Forwarded-For is decided where the proxy is configured.
    limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
    limiter.init_app(app)
    # The limits hold only a weak reference to their limiter, and a disabled limiter
    # registers no hooks that would keep it alive: the app keeps it.
    app.extensions["auth_rate_limiter"] = limiter
    limit = limiter.limit(auth_limit, methods=["POST"], error_message=TOO_MANY_ATTEMPTS)
    for endpoint in LIMITED_ENDPOINTS:
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])
