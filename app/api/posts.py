"""Posts: write one, read it, edit it, delete it, its replies.

Editing and deleting name the version of the post they were decided on, as the
site's forms do (app.models.Post.edit): a post that changed in between is not
overwritten, and the answer is a 409 giving the version it has now. Every write
counts against the writing allowance the site's forms share (``limit_api_writing``).
"""

from typing import Any

from flask import url_for

from app.api.authentication import api_user, token_required
from app.api.lists import next_arguments, read_page
from app.api.problems import VERSION_CONFLICT, abort_with_problem
from app.api.queries import ONE_POST
from app.api.representations import api_urls, page_json, post_json, posts_json
from app.api.schemas import (
    IN_QUERY,
    NewPostSchema,
    PageArgsSchema,
    PostEditSchema,
    PostPageSchema,
    PostSchema,
    VersionArgsSchema,
)
from app.api.spec import PREFIX, resource_blueprint
from app.extensions import db
from app.languages import N_
from app.models import Post
from app.notifications.events import notify_of_post
from app.pagination import MAX_POST_ID
from app.posts import queries
from app.security.rate_limits import limit_api_calls, limit_api_writing

bp = resource_blueprint("api_posts", f"{PREFIX}/posts", "Posts and replies")

NO_SUCH_POST = N_("There is no post with this id.")
POST_GONE = N_("This post has been deleted.")
NOT_YOURS = N_("Only its author can change or delete a post.")
CHANGED = N_("The post changed after the version you named: read it again, then decide.")


def post_or_404(post_id: int) -> Post:
    """The live post ``post_id`` (an id past SQL's INTEGER is no post's: not sent)."""
    post = db.session.get(Post, post_id) if post_id <= MAX_POST_ID else None
    if post is None:
        abort_with_problem(404, NO_SUCH_POST)
    if post.is_deleted:
        abort_with_problem(404, POST_GONE)
    return post


def own_post_or_403(post_id: int) -> Post:
    post = post_or_404(post_id)
    if post.user_id != api_user().id:
        abort_with_problem(403, NOT_YOURS)
    return post


def post_shown(post_id: int) -> dict[str, Any]:
    row = db.session.execute(ONE_POST, {"post_id": post_id}).one()
    return post_json(row, api_urls())


def changed_meanwhile(post: Post) -> None:
    db.session.rollback()
    if post.is_deleted:
        abort_with_problem(404, POST_GONE)
    abort_with_problem(409, CHANGED, VERSION_CONFLICT, current_version=post.version)


def created(post: Post) -> tuple[dict[str, Any], int, dict[str, str]]:
    db.session.commit()
    return post_shown(post.id), 201, {"Location": url_for("api_posts.post", post_id=post.id)}


@bp.route("", methods=["POST"])
@token_required
@limit_api_calls
@limit_api_writing
@bp.arguments(NewPostSchema)
@bp.response(201, PostSchema)
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def publish(new: dict[str, Any]) -> Any:
    """Write a post (the people it names are notified, as the site's form does)."""
    post = Post.publish(new["body"], api_user().id)
    notify_of_post(post, reply_to=None)
    return created(post)


@bp.route("/<int:post_id>", methods=["GET"])
@token_required
@limit_api_calls
@bp.response(200, PostSchema)
@bp.alt_response(404, response="NOT_FOUND")
def post(post_id: int) -> Any:
    """A post."""
    row = None
    if post_id <= MAX_POST_ID:
        row = db.session.execute(ONE_POST, {"post_id": post_id}).first()
    if row is None:
        abort_with_problem(404, NO_SUCH_POST)
    if row.deleted_at is not None:
        abort_with_problem(404, POST_GONE)
    return post_json(row, api_urls())


@bp.route("/<int:post_id>", methods=["PATCH"])
@token_required
@limit_api_calls
@limit_api_writing
@bp.arguments(PostEditSchema)
@bp.response(200, PostSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def edit(change: dict[str, Any], post_id: int) -> Any:
    """Edit your post: name the version you edited (409 if it has changed since)."""
    post = own_post_or_403(post_id)
    if not post.edit(change["body"], change["version"]):
        changed_meanwhile(post)
    db.session.commit()
    return post_shown(post_id)


@bp.route("/<int:post_id>", methods=["DELETE"])
@token_required
@limit_api_calls
@limit_api_writing
@bp.arguments(VersionArgsSchema, **IN_QUERY)
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def delete(arguments: dict[str, Any], post_id: int) -> None:
    """Delete your post: name the version you decided on. Its replies stay."""
    post = own_post_or_403(post_id)
    if not post.delete(arguments["version"]):
        changed_meanwhile(post)
    db.session.commit()


@bp.route("/<int:post_id>/replies", methods=["GET"])
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, PostPageSchema)
@bp.alt_response(404, response="NOT_FOUND")
def replies(arguments: dict[str, Any], post_id: int) -> Any:
    """A post's replies, oldest first (a deleted post's too: they stay)."""
    if post_id > MAX_POST_ID or db.session.get(Post, post_id) is None:
        abort_with_problem(404, NO_SUCH_POST)
    page = read_page(queries.REPLIES, arguments, post_id=post_id)
    items = posts_json(page.items, reply_to=post_id)
    return page_json(page, items, **next_arguments(page, arguments))


@bp.route("/<int:post_id>/replies", methods=["POST"])
@token_required
@limit_api_calls
@limit_api_writing
@bp.arguments(NewPostSchema)
@bp.response(201, PostSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def reply(new: dict[str, Any], post_id: int) -> Any:
    """Answer a post (its author and the people it names are notified)."""
    answered = post_or_404(post_id)
    reply = Post.publish(new["body"], api_user().id, reply_to=answered)
    notify_of_post(reply, reply_to=answered)
    return created(reply)
