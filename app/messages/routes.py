"""Private messages: the Messages page, a conversation with one person, and sending.

Sending is rate limited per user (``limit_messaging``). A message to oneself, to
someone unknown, between two people one of whom blocks the other, empty or too
long is refused with the reason, and nothing is stored; the person blocked is
told only that they cannot message this user. Another person's conversation has
no address: a conversation page is always the viewer's own, with the person its
URL names.
"""

from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Row
from werkzeug.wrappers import Response

from app.extensions import db
from app.languages import N_
from app.messages import queries
from app.messages.conversations import (
    CANNOT_MESSAGE,
    NOBODY,
    NOT_TO_YOURSELF,
    mark_page_read,
    send_message,
)
from app.messages.forms import MessageForm
from app.models import unread_counts_of
from app.pagination import Page, requested_page, requested_page_of
from app.security.rate_limits import limit_messaging

bp = Blueprint("messages", __name__)

FORM_ALTERED = N_(
    "This form was sent without the key this site gives it. Reload the page and try again."
)


@bp.route("/messages")
@login_required
def conversations() -> str:
    page = requested_page_of(queries.CONVERSATIONS, user_id=current_user.id)
    # "Older conversations" reads on from the last one shown, whatever the page number.
    page = replace(page, next_after=page.items[-1].last_message_id if page.has_next else None)
    return render_template("messages/conversations.html", title=_("Messages"), page=page)


def correspondent_or_404(username: str) -> Row[Any]:
    """The person named, with the viewer's side of their conversation (app.messages.queries)."""
    found = db.session.execute(
        queries.CORRESPONDENT, {"user_id": current_user.id, "username": username.lower()}
    ).first()
    return found or abort(404, description=NOBODY)


@bp.route("/messages/<username>", methods=["GET", "POST"])
@login_required
@limit_messaging
def conversation(username: str) -> Response | str:
    other = correspondent_or_404(username)
    if other.id == current_user.id:
        flash(_(NOT_TO_YOURSELF), "warning")
        return redirect(url_for("messages.conversations"))
    form = None
    if request.method == "POST":
        form = MessageForm()
        if sent(form, other):
            flash(_("Your message has been sent."), "success")
            return redirect(url_for("messages.conversation", username=other.username))
    return render_conversation(other, form)


def sent(form: MessageForm, other: Row[Any]) -> bool:
    """Whether the form's message is sent: now, or already by an earlier copy of the form."""
    valid = form.validate_on_submit()
    if form.submission_was_forged():
        abort(400, description=FORM_ALTERED)
    if not valid:
        return False
    if other.blocking:
        return False  # the page says why, beside its Unblock button
    if other.blocked:
        form.body.errors = [*form.body.errors, CANNOT_MESSAGE]
        return False
    send_message(
        current_user.id, other.id, other.conversation_id, form.body.data, form.submission.data
    )
    db.session.commit()
    return True


def render_conversation(other: Row[Any], form: MessageForm | None) -> str:
    """The conversation page: a page of messages, oldest at the top, and on the page of
    the latest ones the form to write the next."""
    page = messages_page(other)
    latest = page.number == 1
    if form is None and latest and not other.blocking:
        form = MessageForm()  # with a new submission key
    return render_template(
        "messages/conversation.html",
        title=_("Messages with %(name)s", name=other.username),
        other=other,
        page=page,
        messages=page.items[::-1],
        form=form if latest else None,
    )


def messages_page(other: Row[Any]) -> Page:
    """The requested page of the conversation, newest first; reading it marks it read."""
    if other.conversation_id is None:
        if requested_page() > 1:
            abort(404)
        return Page(items=[], number=1, has_next=False)
    page = requested_page_of(queries.MESSAGES, conversation_id=other.conversation_id)
    if mark_page_read(current_user.id, other.id, other.last_read_id, page.items):
        db.session.commit()
        current_user.unread_counts = unread_counts_of(current_user.id)
    return replace(page, next_after=page.items[-1].id if page.has_next else None)
