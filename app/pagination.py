"""Page-by-page reading of a list without counting every row first, as the request asks."""

from dataclasses import dataclass, replace
from typing import Any

from flask import abort, current_app, request
from sqlalchemy import ColumnElement, Integer, Select, bindparam

from app.extensions import db
from app.templating import shown_posts

MAX_PAGE = 1_000_000
# The largest id a post can have (SQL INTEGER): bigger numbers are not sent to the database.
MAX_POST_ID = 2**31 - 1

# The bound parameters a PageQuery adds to its statements.
LIMIT = bindparam("page_limit", type_=Integer)
OFFSET = bindparam("page_offset", type_=Integer)


@dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int
    has_next: bool
    # The key of this page's last item, when the list can be read on from it: the
    # "Older" link then carries it (see ``PageQuery.of``'s ``after``).
    next_after: int | None = None

    @property
    def has_prev(self) -> bool:
        return self.number > 1


@dataclass(frozen=True)
class PageQuery:
    """The statements that read one page of a list, built once and run with parameters.

    Built once (at import) rather than on every page view: building a select and
    its cache key cost more than running it, and a statement built once keeps
    its key, so SQLAlchemy finds its compiled SQL in the cache at once. The page's
    size, offset and the rest of what varies (a user's id...) are bound parameters.
    """

    by_number: Select[Any]
    from_after: Select[Any] | None

    @classmethod
    def of(
        cls,
        keys: Select[Any],
        rows: Select[Any],
        after: ColumnElement[bool] | None = None,
        row_key: ColumnElement[Any] | None = None,
    ) -> "PageQuery":
        """Fetch one page plus one row: the extra row says whether a next page exists.

        ``keys`` selects the primary keys in page order, ``rows`` the rows to show
        in that same order. A COUNT would cost time proportional to the rows matched
        on every page view, and "Newer" / "Older" links need nothing more than this.

        The page's keys are picked first, by a subquery that the ordering index alone
        answers; only then are those rows (and their joins) read. A late page thus
        skips index entries, not whole rows with their joined authors.

        Skipping still costs one index entry per row skipped: the 5,000th page of
        100,000 posts reads 100,000 entries. ``after``, a criterion (with a bound
        parameter ``after``) that keeps only the rows after the previous page's last
        one, makes a page start there instead, through the same index, whatever its
        number.

        ``row_key`` is the column of ``rows`` that the keys name, when the keys come
        from another table (a tag's posts); by default, the keys' own column.
        """
        key = keys.selected_columns[0] if row_key is None else row_key
        picked = keys.limit(LIMIT)
        return cls(
            by_number=rows.where(key.in_(picked.offset(OFFSET))),
            from_after=None if after is None else rows.where(key.in_(picked.where(after))),
        )

    def page(
        self, number: int, per_page: int, params: dict[str, Any], after: int | None = None
    ) -> Page:
        """Page ``number``, or the page after the row ``after`` when the list reads on."""
        number = max(number, 1)
        values = {**params, LIMIT.key: per_page + 1}
        if after is not None and self.from_after is not None:
            statement = self.from_after
            values["after"] = after
        else:
            statement = self.by_number
            values[OFFSET.key] = (number - 1) * per_page
        found = db.session.execute(statement, values).all()
        return Page(items=list(found[:per_page]), number=number, has_next=len(found) > per_page)


def requested_page() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def requested_after() -> int | None:
    """The post an "Older posts" link reads on from; None if absent or not a post id."""
    after = request.args.get("after", type=int)
    if after is None or not 0 < after <= MAX_POST_ID or requested_page() == 1:
        return None
    return after


def requested_page_of(query: PageQuery, **params: Any) -> Page:
    """The requested page of a list; a page past the end is the 404 page.

    A link to an empty page (an old bookmark, a list that shrank) would otherwise
    offer "Newer" and nothing else; page 1 of an empty list is a real, empty page.
    """
    per_page = current_app.config["POSTS_PER_PAGE"]
    page = query.page(requested_page(), per_page, params, requested_after())
    if page.number > 1 and not page.items:
        abort(404)
    return page


def shown_page(page: Page, shown: list[Any] | None = None) -> Page:
    """A page of post rows as the post list shows them (app.templating.shown_posts),
    or with ``shown``, its rows already built so.

    "Older posts" links name the last post shown, and the next page is read from
    there: the last of 5,000 pages, reached the way people reach it, costs what the
    first does. A page number typed by hand still skips to its place.
    """
    next_after = page.items[-1].id if page.has_next else None
    items = shown_posts(page.items) if shown is None else shown
    return replace(page, items=items, next_after=next_after)


def requested_posts(query: PageQuery, **params: Any) -> Page:
    """The requested page of posts (``app.main.queries``, ``app.posts.queries``), ready
    for the post list."""
    return shown_page(requested_page_of(query, **params))
