"""Requests that race an account's deletion: answered as what they are, never with a 500.

A page loaded, or a form sent, just before an account was deleted can reach the
database just after: the signed-in user's row is gone (an UPDATE finds no row:
StaleDataError; an expired attribute cannot be loaded again: ObjectDeletedError),
or a new row refers to what is gone (a post, a reply or a follow: a foreign key
violation). The handlers below roll back, then look: if the signed-in account
no longer exists, this browser is signed out and told so; if the request wrote
about something that was deleted meanwhile, it gets the 404 page. Any other
IntegrityError is no race of this kind, and goes on to the 500 page and the
report, as before.
"""

import sqlalchemy as sa
from flask import Flask, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from werkzeug.exceptions import NotFound

from app.auth.sessions import sign_out
from app.database import is_foreign_key_violation
from app.errors.handlers import error_response
from app.extensions import db
from app.languages import N_
from app.models import User

ACCOUNT_GONE = N_("Your account has been deleted.")
ROW_GONE = N_("What you acted on no longer exists: it was deleted meanwhile.")


def signed_in_account_is_gone() -> bool:
    """Whether this request's user was loaded and has since been deleted."""
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(user, User):
        return False
    # The id from the object's identity: reading an attribute would load the row.
    identity = sa.inspect(user).identity
    if identity is None:
        return False
    return db.session.scalar(sa.select(User.id).where(User.id == identity[0])) is None


def answer_vanished_rows(error: Exception) -> ResponseReturnValue:
    db.session.rollback()
    if isinstance(error, IntegrityError) and not is_foreign_key_violation(error):
        raise error
    if signed_in_account_is_gone():
        current_app.logger.info(
            "A request of a deleted account: signed out (%s)", type(error).__name__
        )
        sign_out()
        flash(_(ACCOUNT_GONE), "info")
        return redirect(url_for("auth.login"))
    current_app.logger.warning(
        "A request acted on a row deleted meanwhile (%s): answered 404", type(error).__name__
    )
    return error_response(NotFound(description=ROW_GONE))


def init_app(app: Flask) -> None:
    for error in (StaleDataError, ObjectDeletedError, IntegrityError):
        app.register_error_handler(error, answer_vanished_rows)
