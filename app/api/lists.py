"""Reading one page of a list for the API: a page size and a cursor, as the client asks.

The cursor (``after``) is the id of the last item of the previous page (of its last
message, for conversations), which its ``next`` link carries; the list reads on from
there through its ordering index (app.pagination.PageQuery), so the last page costs
what the first does.
"""

from typing import Any

from flask import current_app

from app.pagination import Page, PageQuery


def page_size(arguments: dict[str, Any]) -> int:
    return arguments.get("limit") or current_app.config["POSTS_PER_PAGE"]


def read_page(query: PageQuery, arguments: dict[str, Any], **params: Any) -> Page:
    """The page the arguments (``after``, ``limit``) ask for; a cursor past the end
    (or naming nothing) is an empty page."""
    return query.page(1, page_size(arguments), params, arguments.get("after"))


def next_arguments(page: Page, arguments: dict[str, Any], key: str = "id") -> dict[str, Any]:
    """What the ``next`` link of ``page`` carries: the cursor (the last item's ``key``
    column, what its list reads on from), and the size asked for."""
    last = getattr(page.items[-1], key) if page.items else None
    return {"after": last, "limit": arguments.get("limit")}
