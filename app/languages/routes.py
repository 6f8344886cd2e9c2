"""The language selector of the footer (blueprint "languages")."""

from datetime import timedelta

from flask import Blueprint, abort, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.redirects import back_to_form_page_or
from app.extensions import db
from app.languages import COOKIE

bp = Blueprint("languages", __name__)

COOKIE_LIFETIME = timedelta(days=365)

NOT_OFFERED = _l("This site is not offered in that language. Choose one from the list.")


@bp.route("/language", methods=["POST"])
def choose_language() -> Response:
    language = request.form.get("language", "")
    if language not in current_app.config["LANGUAGES"]:
        abort(400, description=str(NOT_OFFERED))
    if current_user.is_authenticated:
        current_user.language = language
        db.session.commit()
    response = back_to_form_page_or(url_for("main.index"))
    response.set_cookie(
        COOKIE,
        language,
        max_age=COOKIE_LIFETIME,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
