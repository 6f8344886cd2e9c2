"""The pages of the site."""

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from app.database import utcnow
from app.extensions import db
from app.forms import (
    ChangePasswordForm,
    EditProfileForm,
    LoginForm,
    PostForm,
    RegistrationForm,
)
from app.models import Post, User
from app.pagination import Page, paginate
from app.redirects import is_safe_redirect

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
        "edit_profile.html", title="Edit profile", form=profile_form, password_form=password_form
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


@bp.route("/change_password", methods=["POST"])
@login_required
def change_password() -> Response | str:
    form = ChangePasswordForm(current_user, prefix="password")
    if not form.validate_on_submit():
        return render_profile_editor(password_form=form)
    user = current_user._get_current_object()
    user.set_password(form.new_password.data)
    db.session.commit()
    # The new session token has logged out every other session and remember
    # cookie; this session signs in again with it, remembered if it was before.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    login_user(user, remember=remembered in request.cookies)
    flash("Your password has been changed. You have been signed out elsewhere.", "success")
    return redirect(url_for("main.edit_profile"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(username=form.username.data, email=form.email.data)
        user.set_password(form.password.data)
        db.session.add(user)
        if commit_unless_taken(form):
            flash("Congratulations, you are now a registered user!", "success")
            return redirect(url_for("main.login"))
    return render_template("register.html", title="Register", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = User.authenticate(form.username.data, form.password.data)
        if user is None:
            flash("Invalid username or password", "danger")
            return redirect(url_for("main.login", next=request.args.get("next")))
        target = request.args.get("next")
        # A fresh session: nothing planted before login (session fixation) survives.
        session.clear()
        login_user(user, remember=form.remember_me.data)
        return redirect(target if is_safe_redirect(target) else url_for("main.index"))
    return render_template("login.html", title="Sign in", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    # Clear first: logout_user() then leaves its note to delete the remember cookie.
    session.clear()
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("main.login"))
