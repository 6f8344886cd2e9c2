"""Page-by-page reading of a query without counting every row first."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select

from app.extensions import db


@dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int
    has_next: bool
    # The key of this page's last item, when the list can be read on from it: the
    # "Older" link then carries it (see ``paginate``'s ``after``).
    next_after: int | None = None

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def paginate(
    keys: Select[Any],
    rows: Select[Any],
    number: int,
    per_page: int,
    after: ColumnElement[bool] | None = None,
) -> Page:
    """Fetch one page plus one row: the extra row says whether a next page exists.

    ``keys`` selects the primary keys in page order, ``rows`` the rows to show
    in that same order. A COUNT would cost time proportional to the rows matched on
    every page view, and "Newer" / "Older" links need nothing more than this.

    The page's keys are picked first, by a subquery that the ordering index alone
    answers; only then are those rows (and their joins) read. A late page thus skips
    index entries, not whole rows with their joined authors.

    Skipping still costs one index entry per row skipped: the 5,000th page of
    100,000 posts reads 100,000 entries. ``after``, a criterion that keeps only the
    rows that come after the previous page's last one, makes a page start there
    instead, through the same index, whatever its number.
    """
    number = max(number, 1)
    page_keys = keys.limit(per_page + 1)
    if after is None:
        page_keys = page_keys.offset((number - 1) * per_page)
    else:
        page_keys = page_keys.where(after)
    key = keys.selected_columns[0]
    found = db.session.execute(rows.where(key.in_(page_keys))).all()
    return Page(items=list(found[:per_page]), number=number, has_next=len(found) > per_page)
