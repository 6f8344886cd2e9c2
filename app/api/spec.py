"""The API's flask-smorest extension: its OpenAPI 3.1 document, errors as problems.

flask-smorest is an extension on the site's own Flask app (APIFlask would replace
the app's class): it validates the requests with the views' marshmallow schemas
and writes the OpenAPI document from the same schemas (docs/api.md says why it
was chosen). Two of its defaults are changed here: it would answer every error
of the whole site with JSON of its own shape, and document errors as
``application/json``; this site's error handlers answer an API request with
problem details (app/api/problems.py), and the document says so.
"""

from http import HTTPStatus
from typing import Any

from flask import abort, request
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from app.api.problems import MEDIA_TYPE, ProblemSchema
from app.languages import N_
from app.security.input_checks import has_body

PREFIX = "/api/v1"
SETTINGS = {
    "API_TITLE": "Microblog API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    # flask-smorest serves the document at PREFIX/openapi.json; the page that shows
    # it is the site's own (app/api/docs.py), so none of flask-smorest's UIs (which
    # load their scripts from CDNs) is configured.
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
}
SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /api/v1/tokens or the account pages",
    },
    "basicPassword": {
        "type": "http",
        "scheme": "basic",
        "description": "Your username and password: only to obtain a token",
    },
}
DESCRIPTION = (
    "Read and write Microblog: posts, replies, profiles, follows, the home feed, "
    "Explore and search, private messages, notifications and blocks. Every call takes a "
    "bearer token; every error is an RFC 9457 problem details object "
    "(application/problem+json)."
)


NOT_JSON = N_("This API reads JSON bodies only: send them as Content-Type: application/json.")


def refuse_unreadable_body() -> None:
    # Without it, a form body would reach the schemas as a body without fields.
    if has_body() and not request.is_json:
        abort(415, description=NOT_JSON)


def resource_blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    """A blueprint of the API's resources: its views read JSON bodies only (415)."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix, description=description)
    blueprint.before_request(refuse_unreadable_body)
    return blueprint


class MicroblogApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        # Not flask-smorest's handler for every HTTPException of the app: the site's
        # pages keep theirs, and app/errors/handlers.py hands the API's errors to
        # app/api/problems.py (routing errors, 404 and 405, reach no blueprint).
        pass

    def _register_responses(self) -> None:
        """Each status as a component (flask-smorest's references), errors as problems."""
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Any other error", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


def spec_options() -> dict[str, Any]:
    return {
        "info": {"description": DESCRIPTION},
        "components": {"securitySchemes": SECURITY_SCHEMES},
        # Every operation takes a token, but the one that issues tokens (its own).
        "security": [{"bearerToken": []}],
    }
