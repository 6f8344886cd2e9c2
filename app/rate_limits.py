"""The rate limits' wiring: Flask-Limiter's request hooks only where a view is limited.

Flask-Limiter's ``init_app`` adds a before-request, an after-request and a
teardown hook to the whole app, so every request paid for them (about 0.1 ms of
CPU on a page that is never limited). This site has no default or
application-wide limit: every limit is declared on its view
(``app/auth/routes.py``), and the view's decorator checks it itself. The hooks
only add the X-RateLimit headers after such a check and reset its state, so they
are moved to the blueprints that have limited views.
"""

from flask import Blueprint, Flask

from app.extensions import limiter

# Settings that limit every view: with one of them the hooks must stay app-wide.
APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION")


def init_app(app: Flask, *limited: Blueprint) -> None:
    """Bind the limiter; its hooks run only for the views of the ``limited`` blueprints."""
    hook_lists = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    before = [list(hooks[None]) for hooks in hook_lists]
    limiter.init_app(app)
    if any(app.config.get(name) for name in APP_WIDE_LIMITS):
        return
    for hooks, earlier in zip(hook_lists, before, strict=True):
        added = [hook for hook in hooks[None] if hook not in earlier]
        hooks[None] = earlier
        for blueprint in limited:
            # Registered before the blueprint: its own hooks come after these.
            hooks[blueprint.name].extend(added)
