"""Obtaining a token with a username and password, listing and revoking tokens.

Obtaining one checks a password, so it is rate limited as the sign-in form is
(per address, and per account: ``attempt_allowed_on_account``).
"""

from typing import Any

from flask_babel import gettext as _

from app.api import tokens
from app.api.authentication import (
    BAD_PASSWORD,
    api_user,
    basic_credentials,
    current_token_id,
    refuse,
    token_required,
)
from app.api.problems import abort_with_problem
from app.api.schemas import IssuedTokenSchema, TokenListSchema, TokenRequestSchema
from app.api.spec import PREFIX, resource_blueprint
from app.extensions import db
from app.languages import N_
from app.models import User
from app.security.rate_limits import (
    attempt_allowed_on_account,
    limit_api_calls,
    limit_password_attempts,
)

bp = resource_blueprint("api_tokens", f"{PREFIX}/tokens", "Your API tokens")

TOO_MANY_TOKENS = N_("You have %(count)s tokens that still work: revoke one you no longer use.")
# A token in a response is a credential: no cache may keep a copy.
NOT_STORED = {"Cache-Control": "no-store"}


@bp.route("", methods=["POST"])
@limit_password_attempts
@bp.doc(security=[{"basicPassword": []}])
@bp.arguments(TokenRequestSchema, required=False)
@bp.response(201, IssuedTokenSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def issue(wanted: dict[str, Any]) -> Any:
    """Obtain a token: authenticate with HTTP Basic (your username and password).

    The token is in this response only: the site keeps its SHA-256.
    """
    username, password = basic_credentials()
    # Counted per target account too, as the sign-in form counts; a locked account
    # answers as a wrong password does.
    allowed = attempt_allowed_on_account(username)
    user = User.authenticate(username, password)
    if user is None or not allowed:
        raise refuse(BAD_PASSWORD, "basic")
    if tokens.live_token_count(user) >= tokens.MAX_LIVE_TOKENS:
        abort_with_problem(409, _(TOO_MANY_TOKENS, count=tokens.MAX_LIVE_TOKENS))
    token, text = tokens.issue_token(user, wanted["name"], wanted["expires_in_days"])
    db.session.commit()
    issued = {
        "id": token.id,
        "name": token.name,
        "token": text,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
    }
    return issued, 201, NOT_STORED


@bp.route("", methods=["GET"])
@token_required
@limit_api_calls
@bp.response(200, TokenListSchema)
def listed() -> Any:
    """Your tokens that still work, newest first (their first characters only)."""
    return {
        "items": [
            {
                "id": token.id,
                "name": token.name,
                "shown": token.shown,
                "created_at": token.created_at,
                "expires_at": token.expires_at,
                "last_used_at": token.last_used_at,
                "current": token.id == current_token_id(),
            }
            for token in tokens.live_tokens_of(api_user())
        ]
    }


@bp.route("/<int:token_id>", methods=["DELETE"])
@token_required
@limit_api_calls
@bp.response(204)
@bp.alt_response(404, response="NOT_FOUND")
def revoke(token_id: int) -> None:
    """Revoke one of your tokens (the one of this call too): it never works again."""
    if token_id > tokens.MAX_TOKEN_ID or not tokens.revoke_token(api_user(), token_id):
        abort_with_problem(404, N_("You have no token with this id."))
    db.session.commit()
