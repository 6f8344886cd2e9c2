"""Page-by-page reading of a query without counting every row first."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam

from app.extensions import db

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
        cls, keys: Select[Any], rows: Select[Any], after: ColumnElement[bool] | None = None
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
        """
        key = keys.selected_columns[0]
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
