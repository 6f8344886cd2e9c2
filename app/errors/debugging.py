"""A deliberate failure for trying out debug mode, registered only when app.debug is on.

``flask run --debug``, then open /debug/crash: Werkzeug's debugger shows the
traceback in the browser, with a console in every frame (unlocked by the PIN
that ``flask run`` prints). Outside debug mode the route does not exist.
"""

from flask import Blueprint

bp = Blueprint("debugging", __name__, url_prefix="/debug")


class DeliberateError(RuntimeError):
    """Raised on purpose so that a developer can see the debugger at work."""


@bp.route("/crash")
def crash() -> str:
    answer = 42
    raise DeliberateError(
        f"A deliberate error for the debugger (answer = {answer}). Open a console on "
        "this frame and type `answer` to inspect the local variables."
    )
