"""The account pages: the profile editor, a new password, signing out elsewhere, and the
people one blocks (blocking and unblocking them, from their profile or the list).

Changing the password checks the current one, so its POSTs are rate limited as
the sign-in forms are (``limit_password_attempts``).
"""

from dataclasses import replace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.account import queries
from app.account.forms import ChangePasswordForm, EditProfileForm
from app.auth.forms import commit_unless_taken
from app.auth.redirects import back_to_form_page_or
from app.auth.sessions import keep_only_this_login, logins_of
from app.extensions import db
from app.models import User
from app.pagination import requested_page_of
from app.security.rate_limits import limit_password_attempts
from app.templating import shown_people

bp = Blueprint("account", __name__)


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
        password_form = ChangePasswordForm(prefix="password", formdata=None)
    return render_template(
        "account/edit_profile.html",
        title=_("Edit profile"),
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
            flash(_("Your changes have been saved."), "success")
            return redirect(url_for("account.edit_profile"))
    return render_profile_editor(profile_form=form)


@bp.route("/sign_out_elsewhere", methods=["POST"])
@login_required
def sign_out_elsewhere() -> Response:
    ended = keep_only_this_login(current_user)
    db.session.commit()
    flash(
        ngettext(
            "You have been signed out everywhere else (%(num)d other browser).",
            "You have been signed out everywhere else (%(num)d other browsers).",
            ended,
        ),
        "success",
    )
    return redirect(url_for("account.edit_profile"))


@bp.route("/change_password", methods=["POST"])
@login_required
@limit_password_attempts
def change_password() -> Response | str:
    form = ChangePasswordForm(current_user, prefix="password")
    if not form.validate_on_submit():
        return render_profile_editor(password_form=form)
    current_user.set_password(form.new_password.data)
    # Every other login ends; this browser's goes on with the same cookies, so it
    # stays signed in even when the form was sent twice at once.
    keep_only_this_login(current_user)
    db.session.commit()
    flash(_("Your password has been changed. You have been signed out elsewhere."), "success")
    return redirect(url_for("account.edit_profile"))


def person_or_404(username: str) -> User:
    return User.by_username(username) or abort(404)


@bp.route("/block/<username>", methods=["POST"])
@login_required
def block(username: str) -> Response:
    person = person_or_404(username)
    if person.id == current_user.id:
        flash(_("You cannot block yourself."), "warning")
    else:
        current_user.block(person)
        db.session.commit()
        flash(
            _(
                "You have blocked %(name)s. They can no longer follow you, "
                "message you or notify you, and their posts have left your feed.",
                name=person.username,
            ),
            "success",
        )
    return redirect(url_for("main.user", username=person.username))


@bp.route("/unblock/<username>", methods=["POST"])
@login_required
def unblock(username: str) -> Response:
    person = person_or_404(username)
    if person.id == current_user.id:
        flash(_("You cannot unblock yourself."), "warning")
    else:
        current_user.unblock(person)
        db.session.commit()
        flash(_("You have unblocked %(name)s.", name=person.username), "info")
    # Back to the list of blocked people when the button was there.
    return back_to_form_page_or(url_for("main.user", username=person.username))


@bp.route("/blocked")
@login_required
def blocked() -> str:
    page = requested_page_of(queries.BLOCKED_BY, user_id=current_user.id)
    return render_template(
        "account/blocked.html",
        title=_("People you have blocked"),
        page=replace(page, items=shown_people(page.items)),
    )
