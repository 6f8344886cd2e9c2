"""Signing in: register, sign in, sign out, and reset a forgotten password by email.

Every POST here that checks or sets a password is rate limited per client
address (``RATELIMIT_AUTH``, ``limit_password_attempts``); looking at a form
(GET) never is. Sign-in attempts are also counted per target account
(``RATELIMIT_ACCOUNT``, in the view). Asking for a reset link is limited per
client address and per email address asked for (``RATELIMIT_PASSWORD_RESET``),
without a 429: see ``reset_requests_exhausted``.
"""

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import password_reset
from app.auth.forms import (
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetPasswordRequestForm,
    commit_unless_taken,
)
from app.auth.redirects import is_safe_redirect
from app.auth.sessions import end_every_login, sign_in, sign_out
from app.extensions import db
from app.jobs import deletion_under_way
from app.languages import N_
from app.models import User
from app.security.rate_limits import (
    attempt_allowed_on_account,
    count_attempt,
    digest,
    limit_password_attempts,
)

bp = Blueprint("auth", __name__)

LINK_SENT = N_("If an account uses that address, we have sent it a link.")
# Said only to someone who gave the account's password (or its reset link).
BEING_DELETED = N_("This account is being deleted: it can no longer be signed in to.")


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
            flash(_("Welcome to Microblog, %(name)s!", name=user.username), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/register.html", title=_("Register"), form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_password_attempts
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    # A GET shows the empty form as fixed markup (templates/auth/login.html).
    form = LoginForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        # Also counted per target account (RATELIMIT_ACCOUNT), so that many
        # addresses cannot guess one password. A locked account gets the answer a
        # wrong password gets, after the same work: nothing tells the two apart.
        allowed = attempt_allowed_on_account(form.username.data)
        user = User.authenticate(form.username.data, form.password.data)
        if user is None or not allowed:
            flash(_("Invalid username or password"), "danger")
            return redirect(url_for("auth.login", next=request.args.get("next")))
        if deletion_under_way(user.id):
            flash(_(BEING_DELETED), "info")
            return redirect(url_for("auth.login"))
        target = request.args.get("next")
        sign_in(user, remember=form.remember_me.data)
        return redirect(target if is_safe_redirect(target) else url_for("main.index"))
    return render_template(
        "auth/login.html",
        title=_("Sign in"),
        form=form,
        offer_password_reset=password_reset.is_available(),
    )


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    sign_out()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


def reset_requests_exhausted(address: str) -> str | None:
    """Count a reset request per client address, then per email address asked for.

    Returns which allowance is spent, if one is. The visitor gets the usual
    answer, never a 429: the answer tells nothing about the address, and nothing
    is sent.
    """
    limits = current_app.config["RATELIMIT_PASSWORD_RESET"]
    for allowance, key in (
        ("client address", request.remote_addr or "-"),
        ("email address", digest(address)),
    ):
        if not count_attempt(limits, f"password-reset-{allowance}", key, "a reset request"):
            return allowance
    return None


@bp.route("/reset_password_request", methods=["GET", "POST"])
def reset_password_request() -> Response | str:
    password_reset.settings()  # a 404 when the feature is off
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = ResetPasswordRequestForm()
    if form.validate_on_submit():
        exhausted = reset_requests_exhausted(form.email.data)
        if exhausted is None:
            password_reset.send_reset_link(form.email.data)
        else:
            current_app.logger.warning(
                "Password reset request over the limit per %s: nothing sent", exhausted
            )
        # The same answer whatever happened: it must not tell who has an account.
        flash(_(LINK_SENT), "info")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset_password_request.html", title=_("Reset password"), form=form
    )


@bp.route("/reset_password/<token>", methods=["GET", "POST"])
@limit_password_attempts
def reset_password(token: str) -> Response | str:
    password_reset.settings()  # a 404 when the feature is off
    user = password_reset.user_for_token(token)
    if user is None:
        page = render_template(
            "auth/reset_password_request.html",
            title=_("Reset password"),
            form=ResetPasswordRequestForm(formdata=None),  # empty, even after a POST
            link_invalid=True,
        )
        return without_referrer(page)
    if deletion_under_way(user.id):
        flash(_(BEING_DELETED), "info")
        return redirect(url_for("auth.login"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            sign_out()  # whoever was signed in here: this browser starts afresh
        user.set_password(form.password.data)
        # Every login of the account ends, as a password change ends every other
        # one: sessions and remember cookies alike. This browser then signs in
        # with a fresh session and a new login (one commit for all of it).
        end_every_login(user)
        sign_in(user)
        current_app.logger.info("Password reset by email for user id %s", user.id)
        flash(
            _(
                "Your password has been changed. You are signed in here and signed out "
                "everywhere else."
            ),
            "success",
        )
        return redirect(url_for("main.index"))
    page = render_template(
        "auth/reset_password.html", title=_("Choose a new password"), form=form, user=user
    )
    return without_referrer(page)


def without_referrer(page: str) -> Response:
    """The page's own address holds the token: links and files it loads get no Referer."""
    response = make_response(page)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
