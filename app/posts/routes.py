"""A post's page with its replies, editing and deleting a post, and a hashtag's page.

Every POST here writes, so each is rate limited per user (``limit_writing``).
Editing and deleting name the version of the post the form showed: a post that
changed in between (another tab, a second click) is not overwritten, and the
page shows both texts (409).
"""

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db, login
from app.languages import N_
from app.models import Post
from app.notifications.events import notify_of_post
from app.pagination import MAX_POST_ID, requested_page_of, requested_posts, shown_page
from app.post_text import MAX_TAG_LENGTH
from app.posts import queries
from app.posts.forms import (
    MAX_POST_LENGTH,
    DeletePostForm,
    EditPostForm,
    ReplyForm,
    VersionedForm,
)
from app.security.rate_limits import limit_writing
from app.templating import shown_posts

bp = Blueprint("posts", __name__)

POST_GONE = N_("This post has been deleted.")
FORM_ALTERED = N_(
    "This form was sent without the version of the post it was opened on. "
    "Reload the page and try again."
)


def post_or_404(post_id: int) -> Post:
    """The post, or the 404 page when there is none or it was deleted."""
    post = db.session.get(Post, post_id) if post_id <= MAX_POST_ID else None
    if post is None:
        abort(404)
    if post.is_deleted:
        abort(404, description=POST_GONE)
    return post


def own_post_or_403(post_id: int) -> Post:
    post = post_or_404(post_id)
    if post.user_id != current_user.id:
        abort(403, description=N_("Only its author can change or delete a post."))
    return post


def validated(form: VersionedForm) -> bool:
    """Whether the form was sent and is valid; a forged version is the 400 page."""
    valid = form.validate_on_submit()
    if form.is_submitted() and form.version_was_forged():
        abort(400, description=FORM_ALTERED)
    return valid


def render_thread(post_id: int, form: ReplyForm | None = None) -> str:
    """A post's page: the post it answers, the post, a reply form, its replies."""
    if post_id > MAX_POST_ID:
        abort(404)
    rows = db.session.execute(queries.POST_AND_ANSWERED, {"post_id": post_id}).all()
    head = next((row for row in rows if row.id == post_id), None)
    if head is None:
        abort(404)
    answered = next((row for row in rows if row.id != post_id), None)
    replies = requested_page_of(queries.REPLIES, post_id=post_id)
    if head.deleted_at is not None and not replies.items:
        # A deleted post is shown only as the placeholder its replies answer.
        abort(404, description=POST_GONE)
    # One list, so that the @names of the whole page are looked up at once.
    heads = [head] if answered is None else [answered, head]
    shown = shown_posts([*heads, *replies.items])
    post = shown[len(heads) - 1]
    return render_template(
        "posts/post.html",
        title=_(POST_GONE) if post.deleted else f"{post.author}: {post.body.striptags()[:40]}",
        post=post,
        answered=shown[0] if answered is not None else None,
        own=current_user.is_authenticated and head.user_id == current_user.id,
        form=form,
        max_post_length=MAX_POST_LENGTH,
        page=shown_page(replies, shown[len(heads) :]),
    )


@bp.route("/post/<int:post_id>", methods=["GET", "POST"])
@limit_writing
def post(post_id: int) -> Any:
    if request.method == "GET":
        return render_thread(post_id)
    # Anyone may read a thread; answering it takes an account.
    if not current_user.is_authenticated:
        return login.unauthorized()
    answered = post_or_404(post_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return render_thread(post_id, form)
    reply = Post.publish(form.body.data, current_user.id, reply_to=answered)
    notify_of_post(reply, reply_to=answered)
    db.session.commit()
    flash(_("Your reply is now live!"), "success")
    # The anchor of the page's content: the form's own (#reply, from a list's Reply
    # link) would otherwise carry over and scroll past the message and the reply.
    return redirect(url_for("posts.post", post_id=reply.id, _anchor="content"))


@bp.route("/post/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
@limit_writing
def edit(post_id: int) -> Any:
    post = own_post_or_403(post_id)
    form = EditPostForm()
    if not validated(form):
        if not form.is_submitted():
            form.body.data, form.version.data = post.body, post.version
        return render_template("posts/edit.html", title=_("Edit your post"), form=form, post=post)
    if post.edit(form.body.data, form.version.data):
        db.session.commit()
        flash(_("Your post has been updated."), "success")
        return redirect(url_for("posts.post", post_id=post.id))
    return changed_meanwhile(post, form, "posts/edit.html", "Edit your post")


@bp.route("/post/<int:post_id>/delete", methods=["GET", "POST"])
@login_required
@limit_writing
def delete(post_id: int) -> Any:
    post = own_post_or_403(post_id)
    form = DeletePostForm()
    if not validated(form):
        form.version.data = post.version
        return render_template(
            "posts/delete.html", title=_("Delete your post"), form=form, post=post
        )
    if post.delete(form.version.data):
        db.session.commit()
        flash(_("Your post has been deleted."), "success")
        if post.reply_to_id is not None:
            return redirect(url_for("posts.post", post_id=post.reply_to_id))
        return redirect(url_for("main.index"))
    return changed_meanwhile(post, form, "posts/delete.html", "Delete your post")


def changed_meanwhile(post: Post, form: VersionedForm, template: str, title: str) -> Any:
    """The post changed after the form was opened: show it as it is now (409).

    The form keeps what was typed and now names the current version, so sending
    it again, after reading the saved text, is a deliberate choice.
    """
    db.session.rollback()
    if post.is_deleted:
        abort(404, description=POST_GONE)
    # A new form, filled from data: one filled from the request would show what was
    # sent (the old version) whatever value is set on it.
    again = type(form)(formdata=None, data={**form.data, "version": post.version})
    return render_template(template, title=title, form=again, post=post, conflict=True), 409


@bp.route("/tag/<tag>")
def tag(tag: str) -> str:
    wanted = tag.lower()
    if len(wanted) > MAX_TAG_LENGTH:
        abort(404)
    page = requested_posts(queries.TAGGED_POSTS, tag=wanted)
    return render_template("posts/tag.html", title=f"#{wanted}", tag=wanted, page=page)
