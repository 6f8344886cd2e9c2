"""Accounts: register, sign in, sign out and change the password.

Every POST here checks or sets a password, so each is rate limited per client
address (``RATELIMIT_AUTH``); looking at a form (GET) never is.
"""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.auth.forms import ChangePasswordForm, LoginForm, RegistrationForm
from app.extensions import db, limiter
from app.main.routes import commit_unless_taken, render_profile_editor
from app.models import User
from app.redirects import is_safe_redirect

bp = Blueprint("auth", __name__)

TOO_MANY_ATTEMPTS = "Too many attempts from your address. Please wait a little and try again."


def auth_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


limit_password_attempts = limiter.limit(
    auth_limit, methods=["POST"], error_message=TOO_MANY_ATTEMPTS
)


def sign_in(user: User, remember: bool = False) -> None:
    # A fresh session: nothing planted before (session fixation) survives sign-in.
    session.clear()
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@limit_password_attempts
def register() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(username=form.username.data, email=form.email.data)
        user.set_password(form.password.data)
        db.session.add(user)
        if commit_unless_taken(form):
            sign_in(user)
            flash(f"Welcome to Microblog, {user.username}!", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/register.html", title="Register", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_password_attempts
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    # A GET shows the empty form as fixed markup (templates/auth/_login_form.html).
    form = LoginForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        user = User.authenticate(form.username.data, form.password.data)
        if user is None:
            flash("Invalid username or password", "danger")
            return redirect(url_for("auth.login", next=request.args.get("next")))
        target = request.args.get("next")
        sign_in(user, remember=form.remember_me.data)
        return redirect(target if is_safe_redirect(target) else url_for("main.index"))
    return render_template("auth/login.html", title="Sign in", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    # Clear first: logout_user() then leaves its note to delete the remember cookie.
    session.clear()
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/change_password", methods=["POST"])
@login_required
@limit_password_attempts
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
