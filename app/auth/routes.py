"""Accounts: register, sign in, sign out and change the password.

Every POST here checks or sets a password, so each is rate limited per client
address (``RATELIMIT_AUTH``); looking at a form (GET) never is. Sign-in attempts
are also counted per target account (``RATELIMIT_ACCOUNT``, in the view).
"""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.forms import ChangePasswordForm, LoginForm, RegistrationForm
from app.auth.sessions import keep_only_this_login, sign_in, sign_out
from app.extensions import db, limiter
from app.main.routes import commit_unless_taken, render_profile_editor
from app.models import User
from app.rate_limits import attempt_allowed_on_account
from app.redirects import is_safe_redirect

bp = Blueprint("auth", __name__)

TOO_MANY_ATTEMPTS = "Too many attempts from your address. Please wait a little and try again."


def auth_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


limit_password_attempts = limiter.limit(
    auth_limit, methods=["POST"], error_message=TOO_MANY_ATTEMPTS
)


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
            flash("Congratulations, you are now a registered user!", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/register.html", title="Register", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_password_attempts
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # Also counted per target account (RATELIMIT_ACCOUNT), so that many
        # addresses cannot guess one password. A locked account gets the answer a
        # wrong password gets, after the same work: nothing tells the two apart.
        allowed = attempt_allowed_on_account(form.username.data)
        user = User.authenticate(form.username.data, form.password.data)
        if user is None or not allowed:
            flash("Invalid username or password", "danger")
            return redirect(url_for("auth.login", next=request.args.get("next")))
        target = request.args.get("next")
        sign_in(user, remember=form.remember_me.data)
        return redirect(target if is_safe_redirect(target) else url_for("main.index"))
    return render_template("auth/login.html", title="Sign in", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    sign_out()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/sign_out_elsewhere", methods=["POST"])
@login_required
def sign_out_elsewhere() -> Response:
    ended = keep_only_this_login(current_user._get_current_object())
    db.session.commit()
    browsers = "browser" if ended == 1 else "browsers"
    flash(f"You have been signed out everywhere else ({ended} other {browsers}).", "success")
    return redirect(url_for("main.edit_profile"))


@bp.route("/change_password", methods=["POST"])
@login_required
@limit_password_attempts
def change_password() -> Response | str:
    form = ChangePasswordForm(current_user, prefix="password")
    if not form.validate_on_submit():
        return render_profile_editor(password_form=form)
    user = current_user._get_current_object()
    user.set_password(form.new_password.data)
    # Every other login ends; this browser's goes on with the same cookies, so it
    # stays signed in even when the form was sent twice at once.
    keep_only_this_login(user)
    db.session.commit()
    flash("Your password has been changed. You have been signed out elsewhere.", "success")
    return redirect(url_for("main.edit_profile"))
