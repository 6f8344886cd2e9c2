"""How failures leave the application: HTML pages for people, JSON for clients."""

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from app.api.problems import is_api_request, problem_response
from app.extensions import db
from app.reporting.request_ids import current_request_id

bp = Blueprint("errors", __name__)

# Shown when even the friendly 500 page cannot be rendered (a broken template, a
# database that fails again while the layout asks for the current user).
FALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p><p>Error reference: {reference}</p>
<p><a href="/">Back to the home page</a></p></body>
</html>"""


# The site's own words for the errors people meet; any other status keeps
# Werkzeug's name and description. A view's own description (why a request was
# refused, how long to wait) is kept: it says more than a general sentence.
FRIENDLY_WORDS = {
    400: (
        "Bad request",
        "Your browser sent something this page cannot use. Go back, "
        "reload the page and try again.",
    ),
    403: ("Not allowed", "You do not have permission to see this page."),
    404: (
        "Page not found",
        "We could not find that page. The link may be mistyped, or the page may have moved.",
    ),
    405: ("Not allowed here", "This page cannot be used that way."),
    413: ("Too much at once", "What you sent is larger than this site accepts."),
    429: (
        "Please wait a moment",
        "Too many attempts in a short time. Please wait a little and try again.",
    ),
    500: (
        "Something went wrong",
        "Something went wrong on our side. It has been reported "
        "and we will look into it. Please try again in a little while.",
    ),
}


def words_for(error: HTTPException, code: int) -> tuple[str, str]:
    """The heading and sentence the error page shows."""
    title, sentence = FRIENDLY_WORDS.get(code, (error.name, error.description))
    own_description = error.description != type(error).description
    return title, (error.description if own_description else sentence)


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
        body = {"error": error.name, "message": error.description}
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
        title, sentence = FRIENDLY_WORDS[500]
        page = FALLBACK_PAGE.format(
            title=escape(title),
            message=escape(sentence),
            reference=escape(current_request_id() or "-"),
        )
        return Response(page, 500, mimetype="text/html")
