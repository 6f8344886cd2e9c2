"""The one set of failing routes, for every test and tool that needs a failure.

The real application has no failing route (outside debug mode, see
``app/errors/debugging.py``); tests and tools add this blueprint to an app they built.
Each route fails from its own line, so two routes are two different failures for
the report's storm control.
"""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, request

from app.extensions import db
from app.models import User

bp = Blueprint("crashing", __name__, url_prefix="/crash")


class DeliberateFailure(RuntimeError):
    """Raised on purpose by the routes below."""


@bp.route("/")
def crash() -> str:
    raise DeliberateFailure("boom")


@bp.route("/<path:detail>")
def crash_with_detail(detail: str) -> str:
    raise DeliberateFailure(f"boom {detail}")


@bp.route("/other")
def crash_differently() -> str:
    raise KeyError("other")


@bp.route("/after-sql")
def crash_after_sql() -> str:
    db.session.execute(sa.text("SELECT 1"))
    raise DeliberateFailure("secret internals: SELECT password_hash FROM user")


@bp.route("/status/<int:code>")
def fail_with_status(code: int) -> str:
    abort(code)


@bp.route("/after-write")
def crash_after_write() -> str:
    db.session.add(User(username="ghost", email="ghost@example.com"))
    db.session.flush()  # the row is in the transaction the error handler must roll back
    raise DeliberateFailure("after a flush")


@bp.route("/logged-error")
def log_an_error() -> str:
    """A failure the view logs and survives: no exception, but a report all the same."""
    current_app.logger.error("payment provider declined %s", "order 7")
    return "sorry"


@bp.route("/text/<text>")
def crash_with_text(text: str) -> str:
    """Any character but "/" in the URL, line breaks too (<path:...> stops at those)."""
    raise DeliberateFailure("boom")


@bp.route("/echo")
def crash_quoting_the_client() -> str:
    """A failure whose message quotes what the client sent (``?text=``), line breaks too."""
    raise DeliberateFailure(f"boom with {request.args.get('text', '')}")


# A failure under the API's path: answered as problem details, reported as any other.
api_bp = Blueprint("crashing_api", __name__, url_prefix="/api/v1/crash")


@api_bp.route("/")
def crash_in_the_api() -> str:
    raise DeliberateFailure("boom in the API")
