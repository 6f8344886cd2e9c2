"""The account's page of API tokens: obtain one with a form, see them, revoke them.

A new token is shown once, in the answer to the form that made it, never kept in
the session or a flashed message (which would carry it in a cookie), and that
page is not to be stored by any cache.
"""

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange

from app.api import tokens
from app.extensions import db

bp = Blueprint("api_token_pages", __name__, url_prefix="/account/tokens")


class NewTokenForm(FlaskForm):
    name = StringField(
        _l("What is it for?"),
        validators=[InputRequired(), Length(min=1, max=tokens.MAX_NAME_LENGTH)],
        description=_l("A script, an app, a phone: shown in the list below."),
    )
    # A number field: the form macros write text, number, checkbox and text area controls.
    expires_in_days = IntegerField(
        _l("Days it works"),
        validators=[InputRequired(), NumberRange(min=1, max=tokens.MAX_DAYS)],
        default=tokens.DEFAULT_DAYS,
        description=_l("1 to %(count)s.", count=tokens.MAX_DAYS),
    )
    submit = SubmitField(_l("Create a token"))


def render_tokens(form: NewTokenForm, new_token: str | None = None) -> Any:
    page = render_template(
        "api/tokens.html",
        title=_("API tokens"),
        form=form,
        tokens=tokens.live_tokens_of(current_user),
        new_token=new_token,
        max_tokens=tokens.MAX_LIVE_TOKENS,
    )
    return page, 200, {"Cache-Control": "no-store"}


@bp.route("", methods=["GET", "POST"])
@login_required
def tokens_page() -> Any:
    form = NewTokenForm()
    if not form.validate_on_submit():
        return render_tokens(form)
    if tokens.live_token_count(current_user) >= tokens.MAX_LIVE_TOKENS:
        form.name.errors.append("You have as many tokens as you may: revoke one first.")
        return render_tokens(form)
    _, text = tokens.issue_token(current_user, form.name.data, form.expires_in_days.data)
    db.session.commit()
    # A fresh form: the one sent would show its name again.
    return render_tokens(NewTokenForm(formdata=None), new_token=text)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int) -> Response:
    # CSRFProtect has already checked the form's token: this is the user's own click.
    if token_id <= tokens.MAX_TOKEN_ID and tokens.revoke_token(current_user, token_id):
        db.session.commit()
        flash(_("The token has been revoked: it no longer works."), "success")
    return redirect(url_for("api_token_pages.tokens_page"))
