"""Users: a profile, its posts, its followers and the people it follows; follows; blocks.

Blocking is the site's (app.models.User.block): the follows between the two end,
both ways, neither can follow or message the other while it lasts, and the
notifications the blocked person gave are removed; they are not told.
"""

from typing import Any

from flask_babel import gettext as _

from app.api.authentication import api_user, token_required
from app.api.lists import next_arguments, read_page
from app.api.problems import abort_with_problem
from app.api.queries import BLOCKED_BY, FOLLOWED_BY, FOLLOWERS_OF
from app.api.representations import page_json, people_json, posts_json, profile_json
from app.api.schemas import (
    IN_QUERY,
    PageArgsSchema,
    PeoplePageSchema,
    PostPageSchema,
    ProfileSchema,
)
from app.api.spec import PREFIX, resource_blueprint
from app.extensions import db
from app.languages import N_
from app.main import queries
from app.models import User
from app.notifications.events import notify_followed
from app.pagination import PageQuery
from app.security.rate_limits import limit_api_calls

bp = resource_blueprint("api_users", PREFIX, "Profiles, followers, follows and blocks")

NO_SUCH_USER = N_("There is no user with this name.")
NOT_YOURSELF = N_("You cannot follow or unfollow yourself.")
# The site's words (app.main.routes, app.account.routes); the one blocked learns no more
# of the block than that they cannot follow.
UNBLOCK_FIRST = N_("You have blocked %(name)s: unblock them to follow them.")
CANNOT_FOLLOW = N_("You cannot follow this user.")
NOT_YOURSELF_BLOCKED = N_("You cannot block yourself.")
NOT_YOURSELF_UNBLOCKED = N_("You cannot unblock yourself.")


def profile_row(username: str) -> Any:
    found = db.session.execute(
        queries.PROFILE_WITH_FOLLOWS,
        {"username": username.lower(), "viewer_id": api_user().id},
    ).first()
    if found is None:
        abort_with_problem(404, NO_SUCH_USER)
    return found


def other_user(username: str, refused: str = NOT_YOURSELF) -> User:
    """The user to follow or unfollow (block or unblock): not the caller."""
    user = User.by_username(username)
    if user is None:
        abort_with_problem(404, NO_SUCH_USER)
    if user.id == api_user().id:
        abort_with_problem(403, refused)
    return user


@bp.route("/me")
@token_required
@limit_api_calls
@bp.response(200, ProfileSchema)
def me() -> Any:
    """Your own profile: the user of the token."""
    return profile_json(profile_row(api_user().username))


@bp.route("/users/<username>")
@token_required
@limit_api_calls
@bp.response(200, ProfileSchema)
@bp.alt_response(404, response="NOT_FOUND")
def profile(username: str) -> Any:
    """A user's profile, with their counts and whether you follow them."""
    return profile_json(profile_row(username))


@bp.route("/users/<username>/posts")
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, PostPageSchema)
@bp.alt_response(404, response="NOT_FOUND")
def posts(arguments: dict[str, Any], username: str) -> Any:
    """A user's posts, newest first."""
    user_id = profile_row(username).id
    page = read_page(queries.PROFILE_POSTS, arguments, user_id=user_id)
    return page_json(page, posts_json(page.items), **next_arguments(page, arguments))


def people(query: PageQuery, arguments: dict[str, Any], username: str) -> Any:
    user_id = profile_row(username).id
    page = read_page(query, arguments, user_id=user_id)
    return page_json(page, people_json(page.items), **next_arguments(page, arguments))


@bp.route("/users/<username>/followers")
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, PeoplePageSchema)
@bp.alt_response(404, response="NOT_FOUND")
def followers(arguments: dict[str, Any], username: str) -> Any:
    """The people who follow a user, by name."""
    return people(FOLLOWERS_OF, arguments, username)


@bp.route("/users/<username>/following")
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, PeoplePageSchema)
@bp.alt_response(404, response="NOT_FOUND")
def following(arguments: dict[str, Any], username: str) -> Any:
    """The people a user follows, by name."""
    return people(FOLLOWED_BY, arguments, username)


@bp.route("/users/<username>/follow", methods=["PUT"])
@token_required
@limit_api_calls
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def follow(username: str) -> None:
    """Follow a user (following them already changes nothing; 403 while a block lasts)."""
    caller, followed = api_user(), other_user(username)
    if caller.follow(followed):
        notify_followed(caller, followed)
    elif caller.is_blocking(followed):
        abort_with_problem(403, _(UNBLOCK_FIRST, name=followed.username))
    elif followed.is_blocking(caller):
        abort_with_problem(403, CANNOT_FOLLOW)
    db.session.commit()


@bp.route("/users/<username>/follow", methods=["DELETE"])
@token_required
@limit_api_calls
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def unfollow(username: str) -> None:
    """Stop following a user (not following them changes nothing)."""
    api_user().unfollow(other_user(username))
    db.session.commit()


@bp.route("/me/blocked")
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, PeoplePageSchema)
def blocked(arguments: dict[str, Any]) -> Any:
    """The people you block, by name."""
    page = read_page(BLOCKED_BY, arguments, user_id=api_user().id)
    return page_json(page, people_json(page.items), **next_arguments(page, arguments))


@bp.route("/me/blocked/<username>", methods=["PUT"])
@token_required
@limit_api_calls
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def block(username: str) -> None:
    """Block a user: they can no longer follow you, message you or notify you."""
    api_user().block(other_user(username, NOT_YOURSELF_BLOCKED))
    db.session.commit()


@bp.route("/me/blocked/<username>", methods=["DELETE"])
@token_required
@limit_api_calls
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def unblock(username: str) -> None:
    """Stop blocking a user (follows the block ended stay ended)."""
    api_user().unblock(other_user(username, NOT_YOURSELF_UNBLOCKED))
    db.session.commit()
