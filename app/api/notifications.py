"""Notifications: the list, marking them read, and the unread counts.

The list is the site's (app.notifications.queries). Unlike the site's page, which
marks read what it shows, reading the list through the API changes nothing: a
client marks them read itself, up to the newest it showed (``read``), so that a
script that only looks, or pages through old ones, leaves the new ones new. The
counts are the navigation bar's (app.models.unread_counts_of), each up to 100.
"""

from typing import Any

from app.api.authentication import api_user, token_required
from app.api.lists import next_arguments, read_page
from app.api.message_schemas import MarkReadSchema, NotificationPageSchema, UnreadCountsSchema
from app.api.representations import notifications_json, page_json
from app.api.schemas import IN_QUERY, PageArgsSchema
from app.api.spec import PREFIX, resource_blueprint
from app.extensions import db
from app.models import unread_counts_of
from app.notifications import queries
from app.notifications.events import mark_read_up_to
from app.security.rate_limits import limit_api_calls

bp = resource_blueprint("api_notifications", PREFIX, "Notifications and unread counts")


def unread_counts(user_id: int) -> dict[str, int]:
    counts = unread_counts_of(user_id)
    return {"messages": counts.messages, "notifications": counts.notifications}


@bp.route("/notifications", methods=["GET"])
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, NotificationPageSchema)
def notifications(arguments: dict[str, Any]) -> Any:
    """Your notifications, newest first (reading them marks nothing read)."""
    page = read_page(queries.NOTIFICATIONS, arguments, user_id=api_user().id)
    return page_json(page, notifications_json(page.items), **next_arguments(page, arguments))


@bp.route("/notifications/read", methods=["POST"])
@token_required
@limit_api_calls
@bp.arguments(MarkReadSchema)
@bp.response(200, UnreadCountsSchema)
def read(marked: dict[str, Any]) -> Any:
    """Mark your notifications read up to an id; the unread counts after it."""
    user_id = api_user().id
    mark_read_up_to(user_id, marked["up_to"])
    db.session.commit()
    return unread_counts(user_id)


@bp.route("/me/unread", methods=["GET"])
@token_required
@limit_api_calls
@bp.response(200, UnreadCountsSchema)
def unread() -> Any:
    """Your unread counts: conversations and notifications (each up to 100)."""
    return unread_counts(api_user().id)
