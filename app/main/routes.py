"""The pages: the home feed, explore, profiles, follows and followers lists."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Row, Select
from werkzeug.wrappers import Response

from app.auth.redirects import back_to_form_page_or
from app.database import utcnow
from app.extensions import db
from app.main import queries
from app.models import Post, User
from app.notifications.events import notify_followed, notify_of_post
from app.pagination import Page, requested_page_of, requested_posts
from app.posts.forms import MAX_POST_LENGTH, PostForm
from app.security.rate_limits import limit_writing
from app.templating import shown_people

bp = Blueprint("main", __name__)

LAST_SEEN_INTERVAL = timedelta(minutes=1)


# Requests that are not a visit: files, and an open page asking for its unread counts
# (app.notifications.poll), which it does all day, whether anyone is there or not.
NOT_VISITS = frozenset({"static", "notifications.unread"})


@bp.before_app_request
def record_last_seen() -> None:
    # At most one write a minute per user: browsing must not turn every page view
    # into a database write.
    if request.endpoint in NOT_VISITS or not current_user.is_authenticated:
        return
    now = utcnow()
    if current_user.last_seen is None or now - current_user.last_seen >= LAST_SEEN_INTERVAL:
        current_user.last_seen = now
        db.session.commit()


def people_shown(page: Page) -> Page:
    """A page of people with each person's values built for the list (app.templating)."""
    return replace(page, items=shown_people(page.items))


def profile_row_or_404(
    username: str, statement: Select[Any] = queries.PROFILE, **params: Any
) -> Row[Any]:
    """The profile's row as ``statement`` reads it (its id, username, email, about_me and
    last_seen, and what else the statement adds), for pages that show it."""
    found = db.session.execute(statement, {"username": username.lower(), **params}).first()
    return found or abort(404)


def profile_or_404(username: str) -> User:
    return User.by_username(username) or abort(404)


@bp.route("/", methods=["GET", "POST"])
@bp.route("/index", methods=["GET", "POST"])
@limit_writing
def index() -> Response | str:
    # Visitors without an account see what the site is about, not a login prompt.
    if not current_user.is_authenticated:
        return redirect(url_for("main.explore"))
    form = None
    if request.method == "POST":
        # A GET shows the empty form as fixed markup (templates/index.html).
        form = PostForm()
        if form.validate_on_submit():
            notify_of_post(Post.publish(form.body.data, current_user.id), reply_to=None)
            db.session.commit()
            flash(_("Your post is now live!"), "success")
            return redirect(url_for("main.index"))
    following_count = current_user.following_count
    page = requested_posts(queries.feed_for(following_count), user_id=current_user.id)
    return render_template(
        "index.html",
        title=_("Home"),
        form=form,
        max_post_length=MAX_POST_LENGTH,
        page=page,
        follows_nobody=following_count == 0,
    )


@bp.route("/explore")
def explore() -> str:
    return render_template(
        "explore.html", title=_("Explore"), page=requested_posts(queries.EXPLORE)
    )


@bp.route("/user/<username>")
@login_required
def user(username: str) -> str:
    profile = profile_row_or_404(username, queries.PROFILE_WITH_FOLLOWS, viewer_id=current_user.id)
    page = requested_posts(queries.PROFILE_POSTS, user_id=profile.id)
    return render_template(
        "user.html",
        title=profile.username,
        user=profile,
        own=profile.id == current_user.id,
        page=page,
        followers_count=profile.followers_count,
        following_count=profile.following_count,
        is_following=profile.is_following,
        is_blocking=profile.is_blocking,
    )


@bp.route("/user/<username>/card")
@login_required
def hover_card(username: str) -> str:
    """The small card about a person that hovering their name shows (static/hover-cards.js)."""
    profile = profile_row_or_404(username, queries.PROFILE_WITH_FOLLOWS, viewer_id=current_user.id)
    return render_template("_hover_card.html", user=profile, own=profile.id == current_user.id)


@bp.route("/user/<username>/followers", endpoint="followers")
@login_required
def followers_of(username: str) -> str:
    profile = profile_row_or_404(username)
    page = people_shown(requested_page_of(queries.FOLLOWERS_OF, user_id=profile.id))
    title = _("People following %(name)s", name=profile.username)
    return render_template(
        "people.html", title=title, user=profile, page=page, endpoint="main.followers"
    )


@bp.route("/user/<username>/following", endpoint="following")
@login_required
def followed_by(username: str) -> str:
    profile = profile_row_or_404(username)
    page = people_shown(requested_page_of(queries.FOLLOWED_BY, user_id=profile.id))
    title = _("People %(name)s follows", name=profile.username)
    return render_template(
        "people.html", title=title, user=profile, page=page, endpoint="main.following"
    )


@bp.route("/follow/<username>", methods=["POST"])
@login_required
def follow(username: str) -> Response:
    # CSRFProtect has already checked the form's token: this is the user's own click.
    profile = profile_or_404(username)
    if profile.id == current_user.id:
        flash(_("You cannot follow yourself."), "warning")
    elif current_user.follow(profile):
        notify_followed(current_user, profile)
        db.session.commit()
        flash(_("You are following %(name)s.", name=profile.username), "success")
    elif current_user.is_blocking(profile):
        flash(
            _("You have blocked %(name)s: unblock them to follow them.", name=profile.username),
            "warning",
        )
    elif profile.is_blocking(current_user):
        # What the blocked person learns of the block: no more than this refusal.
        flash(_("You cannot follow this user."), "warning")
    else:  # already following: a second click, another tab
        flash(_("You are following %(name)s.", name=profile.username), "success")
    return back_to_form_page_or(url_for("main.user", username=profile.username))


@bp.route("/unfollow/<username>", methods=["POST"])
@login_required
def unfollow(username: str) -> Response:
    profile = profile_or_404(username)
    if profile.id == current_user.id:
        flash(_("You cannot unfollow yourself."), "warning")
    else:
        current_user.unfollow(profile)
        db.session.commit()
        flash(_("You are no longer following %(name)s.", name=profile.username), "info")
    return back_to_form_page_or(url_for("main.user", username=profile.username))


@bp.route("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for /favicon.ico before reading the page's <link rel="icon">.
    return redirect(url_for("static", filename="favicon.svg"), code=301)
