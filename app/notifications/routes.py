"""The Notifications page, and the poll that keeps the navigation bar's counts current.

The poll (``GET /notifications/unread``, asked by static/unread-counts.js) is what
open pages send all day long, so it is made to cost next to nothing: no template
is rendered, the counts come with the signed-in user's own row
(app.auth.sessions), when nothing changed since the page's last answer the reply
is an empty 304, and the common case is answered before Flask
(app.notifications.poll). The protocol is in docs/messages.md.
"""

from dataclasses import replace

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import unread_counts_of
from app.notifications import queries
from app.notifications.events import mark_read
from app.notifications.poll import POLL_PATH, poll_response
from app.pagination import requested_page_of

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def notifications() -> str:
    page = requested_page_of(queries.NOTIFICATIONS, user_id=current_user.id)
    # Seen now: the ones this page shows (older unread ones wait for their page).
    unread = [row.id for row in page.items if row.read_at is None]
    if unread:
        mark_read(current_user.id, unread)
        db.session.commit()
        current_user.unread_counts = unread_counts_of(current_user.id)
    page = replace(page, next_after=page.items[-1].id if page.has_next else None)
    return render_template("notifications/notifications.html", title=_("Notifications"), page=page)


@bp.route(POLL_PATH)
def unread() -> Response:
    """The signed-in user's unread counts, as JSON; 304 when they are what the caller has.

    Most polls are answered before this view (app.notifications.poll), exactly as it
    answers them; the others come here: any ``since`` that is not the current
    state gets the full answer.
    """
    if not current_user.is_authenticated:
        # No page to render for a script: the poll stops (static/unread-counts.js).
        return Response(status=401)
    return poll_response(
        current_user.unread_counts, request.args.get("since"), request.headers.get("If-None-Match")
    )
