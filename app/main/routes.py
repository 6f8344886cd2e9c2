"""The pages: the home page with its post form, profiles and the profile editor."""

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from app.auth.forms import ChangePasswordForm, RegistrationForm
from app.auth.sessions import logins_of
from app.database import utcnow
from app.extensions import db
from app.main.forms import EditProfileForm, PostForm
from app.models import Post, User
from app.pagination import Page, paginate

bp = Blueprint("main", __name__)

LAST_SEEN_INTERVAL = timedelta(minutes=1)
MAX_PAGE = 1_000_000


@bp.before_app_request
def record_last_seen() -> None:
    # At most one write a minute per user: browsing must not turn every page view
    # into a database write.
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    now = utcnow()
    if current_user.last_seen is None or now - current_user.last_seen >= LAST_SEEN_INTERVAL:
        current_user.last_seen = now
        db.session.commit()


def requested_page() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def newest_posts(*criteria: ColumnElement[bool]) -> Page:
    """The requested page of the posts that meet ``criteria``, newest first.

    Each post is a plain row of what a page shows (body, timestamp, the author's
    name and email): a page only reads them, and building ORM objects with their
    identity map and joined authors cost more than the query itself.
    """
    newest_first = (Post.timestamp.desc(), Post.id.desc())
    shown = (Post.body, Post.timestamp, User.username.label("author"), User.email.label("email"))
    return paginate(
        select(Post.id).where(*criteria).order_by(*newest_first),
        select(*shown).join(Post.author).order_by(*newest_first),
        requested_page(),
        current_app.config["POSTS_PER_PAGE"],
    )


def commit_unless_taken(form: RegistrationForm | EditProfileForm) -> bool:
    """Commit, or turn a lost race on a unique index into the form's friendly error."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not form.report_taken_fields():
            raise
        return False
    return True


@bp.route("/", methods=["GET", "POST"])
@bp.route("/index", methods=["GET", "POST"])
@login_required
def index() -> Response | str:
    form = PostForm()
    if form.validate_on_submit():
        db.session.add(Post(body=form.body.data, author=current_user))
        db.session.commit()
        flash("Your post is now live!", "success")
        return redirect(url_for("main.index"))
    page = newest_posts()
    return render_template("index.html", title="Home", form=form, page=page)


@bp.route("/user/<username>")
@login_required
def user(username: str) -> str:
    profile = User.by_username(username) or abort(404)
    page = newest_posts(Post.user_id == profile.id)
    return render_template("user.html", title=profile.username, user=profile, page=page)


def render_profile_editor(
    profile_form: EditProfileForm | None = None,
    password_form: ChangePasswordForm | None = None,
) -> str:
    """The profile editor; the form that was not submitted starts afresh."""
    if profile_form is None:
        profile_form = EditProfileForm(current_user.username, formdata=None)
        profile_form.username.data = current_user.username
        profile_form.about_me.data = current_user.about_me
    if password_form is None:
        password_form = ChangePasswordForm(current_user, prefix="password", formdata=None)
    return render_template(
        "edit_profile.html",
        title="Edit profile",
        form=profile_form,
        password_form=password_form,
        logins=logins_of(current_user),
    )


@bp.route("/edit_profile", methods=["GET", "POST"])
@login_required
def edit_profile() -> Response | str:
    if request.method == "GET":
        return render_profile_editor()
    form = EditProfileForm(current_user.username)
    if form.validate_on_submit():
        current_user.username = form.username.data
        current_user.about_me = form.about_me.data
        if commit_unless_taken(form):
            flash("Your changes have been saved.", "success")
            return redirect(url_for("main.edit_profile"))
    return render_profile_editor(profile_form=form)
