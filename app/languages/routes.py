"""The language selector of the footer (blueprint "languages")."""

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.redirects import is_safe_redirect
from app.extensions import db
from app.languages import COOKIE

bp = Blueprint("languages", __name__)

COOKIE_LIFETIME = timedelta(days=365)

NOT_OFFERED = _l("This site is not offered in that language. Choose one from the list.")


def page_it_came_from() -> str | None:
    """The page of this site whose footer the choice was made in (the Referer), if any.

    Read from the Referer rather than a field of the footer's form: the footer is then
    the same on every page (a 404 page is the same for every missing path). The
    site's Referrer-Policy sends the whole address to its own pages.
    """
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return target if is_safe_redirect(target) else None


@bp.route("/language", methods=["POST"])
def choose_language() -> Response:
    language = request.form.get("language", "")
    if language not in current_app.config["LANGUAGES"]:
        abort(400, description=str(NOT_OFFERED))
    if current_user.is_authenticated:
        current_user.language = language
        db.session.commit()
    response = redirect(page_it_came_from() or url_for("main.index"))
    response.set_cookie(
        COOKIE,
        language,
        max_age=COOKIE_LIFETIME,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
