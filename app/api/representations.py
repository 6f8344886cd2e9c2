"""The API's resources as JSON: rows of the site's own statements, and their links.

Each list reads the rows the site's pages read (app.posts.queries, app.main.queries,
app.messages.queries, app.notifications.queries), so the API shows what the pages
show. Links are paths (with the mount point the site is served at), built from
prefixes made once per app and mount point, as the pages' are
(app.templating.FixedUrls): a page of 20 posts asks url_for nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask import current_app, request, url_for

from app.models import MESSAGED, avatar_url
from app.pagination import Page

AVATAR_SIZE = 128


@dataclass(frozen=True, slots=True)
class ApiUrls:
    post_prefix: str
    html_post_prefix: str
    user_prefix: str
    html_user_prefix: str
    conversation_prefix: str
    html_conversation_prefix: str


def build_api_urls() -> ApiUrls:
    return ApiUrls(
        post_prefix=url_for("api_posts.post", post_id=0)[:-1],
        html_post_prefix=url_for("posts.post", post_id=0)[:-1],
        user_prefix=url_for("api_users.profile", username="_")[:-1],
        html_user_prefix=url_for("main.user", username="_")[:-1],
        conversation_prefix=url_for("api_messages.conversation", username="_")[:-1],
        html_conversation_prefix=url_for("messages.conversation", username="_")[:-1],
    )


def api_urls() -> ApiUrls:
    by_root = current_app.extensions.setdefault("api_urls", {})
    urls = by_root.get(request.script_root)
    if urls is None:
        urls = by_root[request.script_root] = build_api_urls()
    return urls


def post_json(row: Any, urls: ApiUrls, reply_to: int | None = None) -> dict[str, Any]:
    """A row of app.posts.queries.POST_COLUMNS (or REPLIES, answering ``reply_to``)."""
    return {
        "id": row.id,
        "body": row.body,
        "author": row.author,
        "created_at": row.timestamp,
        "edited_at": row.edited_at,
        "version": row.version,
        "reply_to": row.reply_to_id if reply_to is None else reply_to,
        "reply_count": row.reply_count,
        "url": urls.post_prefix + str(row.id),
        "html_url": urls.html_post_prefix + str(row.id),
    }


def posts_json(rows: Iterable[Any], reply_to: int | None = None) -> list[dict[str, Any]]:
    urls = api_urls()
    return [post_json(row, urls, reply_to) for row in rows]


def person_json(row: Any, urls: ApiUrls) -> dict[str, Any]:
    """A row with username, email and about_me: a person in a list."""
    name = quote(row.username)
    return {
        "username": row.username,
        "about_me": row.about_me,
        "avatar_url": avatar_url(row.email, AVATAR_SIZE),
        "url": urls.user_prefix + name,
    }


def people_json(rows: Iterable[Any]) -> list[dict[str, Any]]:
    urls = api_urls()
    return [person_json(row, urls) for row in rows]


def profile_json(row: Any) -> dict[str, Any]:
    """A row of app.main.queries.PROFILE_WITH_FOLLOWS."""
    urls = api_urls()
    person = person_json(row, urls)
    return {
        **person,
        "last_seen": row.last_seen,
        "followers_count": row.followers_count,
        "following_count": row.following_count,
        "is_following": bool(row.is_following),
        "is_blocking": bool(row.is_blocking),
        "posts_url": person["url"] + "/posts",
        "followers_url": person["url"] + "/followers",
        "following_url": person["url"] + "/following",
        "html_url": urls.html_user_prefix + quote(row.username),
    }


def message_json(message_id: int, body: str, sender: str, sent_at: datetime) -> dict[str, Any]:
    return {"id": message_id, "body": body, "sender": sender, "created_at": sent_at}


def messages_json(rows: Iterable[Any], names: dict[int, str]) -> list[dict[str, Any]]:
    """Rows of app.messages.queries.MESSAGES; ``names`` has both people's, by id."""
    return [message_json(row.id, row.body, names[row.sender_id], row.timestamp) for row in rows]


def conversations_json(rows: Iterable[Any], user_id: int, username: str) -> list[dict[str, Any]]:
    """Rows of app.messages.queries.CONVERSATIONS, the conversations of ``user_id``."""
    urls = api_urls()
    listed = []
    for row in rows:
        name = quote(row.username)
        sender = username if row.sender_id == user_id else row.username
        listed.append(
            {
                "username": row.username,
                "avatar_url": avatar_url(row.email, AVATAR_SIZE),
                "unread": bool(row.unread),
                "last_message": message_json(row.last_message_id, row.body, sender, row.timestamp),
                "url": urls.conversation_prefix + name,
                "html_url": urls.html_conversation_prefix + name,
            }
        )
    return listed


def notification_url(row: Any, urls: ApiUrls) -> str:
    """What a notification is about: its post, the conversation, or who followed."""
    if row.post_id is not None:
        return urls.post_prefix + str(row.post_id)
    if row.kind == MESSAGED:
        return urls.conversation_prefix + quote(row.username)
    return urls.user_prefix + quote(row.username)


def notifications_json(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows of app.notifications.queries.NOTIFICATIONS."""
    urls = api_urls()
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "actor": row.username,
            "actor_url": urls.user_prefix + quote(row.username),
            "post_id": row.post_id,
            "url": notification_url(row, urls),
            "created_at": row.created_at,
            "read_at": row.read_at,
        }
        for row in rows
    ]


def next_url(listed: Page, **arguments: Any) -> str | None:
    """The link to the page after ``listed``: this request's path with ``arguments``
    (those that are not None)."""
    if not listed.has_next:
        return None
    given = {key: value for key, value in arguments.items() if value is not None}
    return f"{request.script_root}{request.path}?{urlencode(given)}"


def page_json(page: Page, items: list[dict[str, Any]], **next_arguments: Any) -> dict[str, Any]:
    return {"items": items, "next": next_url(page, **next_arguments)}
