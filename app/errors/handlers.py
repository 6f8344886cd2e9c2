"""How failures leave the application: HTML pages for people, JSON for clients."""

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from app.api.problems import is_api_request, problem_response
from app.extensions import db
from app.languages import N_, translated
from app.languages.selection import request_language
from app.reporting.request_ids import current_request_id

bp = Blueprint("errors", __name__)

# Shown when even the friendly 500 page cannot be rendered (a broken template, a
# database that fails again while the layout asks for the current user).
# In the language the request's headers and cookie ask for: the user, whose language
# is stored in the database, cannot be loaded when the database is what failed.
FALLBACK_PAGE = """<!doctype html>
<html lang="{language}"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p><p>{reference_label} {reference}</p>
<p><a href="/">{back}</a></p></body>
</html>"""


# The site's own words for the errors people meet; any other status has
# Werkzeug's name and description, translated. A view's own description (why a request was
# refused, how long to wait) is kept: it says more than a general sentence.
FRIENDLY_WORDS = {
    400: (
        N_("Bad request"),
        N_(
            "Your browser sent something this page cannot use. Go back, "
            "reload the page and try again."
        ),
    ),
    403: (N_("Not allowed"), N_("You do not have permission to see this page.")),
    404: (
        N_("Page not found"),
        N_("We could not find that page. The link may be mistyped, or the page may have moved."),
    ),
    405: (N_("Not allowed here"), N_("This page cannot be used that way.")),
    413: (N_("Too much at once"), N_("What you sent is larger than this site accepts.")),
    429: (
        N_("Please wait a moment"),
        N_("Too many attempts in a short time. Please wait a little and try again."),
    ),
    500: (
        N_("Something went wrong"),
        N_(
            "Something went wrong on our side. It has been reported "
            "and we will look into it. Please try again in a little while."
        ),
    ),
}


def words_for(error: HTTPException, code: int) -> tuple[str, str]:
    """The heading and sentence the error page shows."""
    # The site's words and the views' descriptions are English constants marked for
    # the catalogues (N_), Werkzeug's are added to them (app/languages/extraction.py):
    # all translated here, when shown.
    title, sentence = FRIENDLY_WORDS.get(code, (error.name, error.description))
    own_description = error.description != type(error).description
    return translated(title), translated(error.description if own_description else sentence)


def wants_json_response() -> bool:
    # text/html listed first so that "*/*" and ties go to the browser page.
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(error: HTTPException) -> ResponseReturnValue:
    # Under /api every status is problem details (app/api/problems.py), whatever
    # the client accepts: the API's clients read its one format.
    if is_api_request():
        return problem_response(error)
    code = error.code or 500
    # Keep headers the status relies on (Allow on 405, Retry-After on 429).
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    # A 500 carries the request id, so a user can quote it to the administrator,
    # who finds the same id in the log file and the error email.
    reference = current_request_id() if code >= 500 else None
    if wants_json_response():
        body = {"error": error.name, "message": translated(error.description)}
        if reference:
            body["reference"] = reference
        return body, code, headers
    title, sentence = words_for(error, code)
    page = render_template(
        "error.html", title=title, sentence=sentence, code=code, error_reference=reference
    )
    return page, code, headers


@bp.app_errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    return error_response(error)


@bp.app_errorhandler(InternalServerError)
def handle_internal_error(error: InternalServerError) -> ResponseReturnValue:
    # Flask has already logged the original exception; this only answers the user.
    try:
        # Only a session the request used can hold a failed transaction; asking
        # for one here would make a session just to roll it back.
        if db.session.registry.has():
            db.session.rollback()
        return error_response(error)
    except Exception as failure:
        # One failure, one error record and one email: the original is logged
        # already. Why its page could not be shown is a warning in the log file.
        current_app.logger.warning(
            "The 500 page could not be rendered (%s: %s); a plain page was shown instead",
            type(failure).__name__,
            failure,
        )
        language = request_language()
        with force_locale(language):
            title, sentence = FRIENDLY_WORDS[500]
            page = FALLBACK_PAGE.format(
                language=language,
                title=escape(_(title)),
                message=escape(_(sentence)),
                reference_label=escape(_("Error reference:")),
                reference=escape(current_request_id() or "-"),
                back=escape(_("Back to the home page")),
            )
        return Response(page, 500, mimetype="text/html")
