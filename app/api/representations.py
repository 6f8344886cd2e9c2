"""The API's resources as JSON: rows of the site's own statements, and their links.

Each list reads the rows the site's pages read (app.posts.queries, app.main.queries),
so the API shows what the pages show. Links are paths (with the mount point the
site is served at), built from prefixes made once per app and mount point, as the
pages' are (app.templating.FixedUrls): a page of 20 posts asks url_for nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import current_app, request, url_for

from app.models import avatar_url
from app.pagination import Page

AVATAR_SIZE = 128


@dataclass(frozen=True, slots=True)
class ApiUrls:
    post_prefix: str
    html_post_prefix: str
    user_prefix: str
    html_user_prefix: str


def build_api_urls() -> ApiUrls:
    return ApiUrls(
        post_prefix=url_for("api_posts.post", post_id=0)[:-1],
        html_post_prefix=url_for("posts.post", post_id=0)[:-1],
        user_prefix=url_for("api_users.profile", username="_")[:-1],
        html_user_prefix=url_for("main.user", username="_")[:-1],
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
        "posts_url": person["url"] + "/posts",
        "followers_url": person["url"] + "/followers",
        "following_url": person["url"] + "/following",
        "html_url": urls.html_user_prefix + quote(row.username),
    }


def next_url(listed: Page, **arguments: Any) -> str | None:
    """The link to the page after ``listed``: this request's path with ``arguments``
    (those that are not None)."""
    if not listed.has_next:
        return None
    given = {key: value for key, value in arguments.items() if value is not None}
    return f"{request.script_root}{request.path}?{urlencode(given)}"


def page_json(page: Page, items: list[dict[str, Any]], **next_arguments: Any) -> dict[str, Any]:
    return {"items": items, "next": next_url(page, **next_arguments)}
