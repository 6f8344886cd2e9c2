"""The rate limits' wiring: Flask-Limiter's request hooks only where a view is limited.

Flask-Limiter's ``init_app`` adds a before-request, an after-request and a
teardown hook to the whole app, so every request paid for them (about 0.1 ms of
CPU on a page that is never limited). This site has no default or
application-wide limit: every limit is declared on its view
(``app/auth/routes.py``), and the view's decorator checks it itself. So the
before-request hook, which checks the default and application-wide limits, has
nothing to check and is dropped (it cost a limited view a second pass over its
limits); the after-request and teardown hooks add the X-RateLimit headers after
a view's check and reset its state, so they move to the blueprints that have
limited views.
"""

from flask import Blueprint, Flask

from app.extensions import limiter

# Settings that limit every view: with one of them the hooks must stay app-wide.
APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION")


def init_app(app: Flask, *limited: Blueprint) -> None:
    """Bind the limiter; its hooks run only for the views of the ``limited`` blueprints."""
    before = list(app.before_request_funcs[None])
    moved = (app.after_request_funcs, app.teardown_request_funcs)
    earlier_lists = [list(hooks[None]) for hooks in moved]
    limiter.init_app(app)
    if any(app.config.get(name) for name in APP_WIDE_LIMITS):
        return
    app.before_request_funcs[None] = before
    for hooks, earlier in zip(moved, earlier_lists, strict=True):
        added = [hook for hook in hooks[None] if hook not in earlier]
        hooks[None] = earlier
        for blueprint in limited:
            # Registered before the blueprint: its own hooks come after these.
            hooks[blueprint.name].extend(added)
