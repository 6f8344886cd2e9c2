"""Page-by-page reading of a query without counting every row first."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from app.extensions import db


@dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def paginate(keys: Select[Any], rows: Select[Any], number: int, per_page: int) -> Page:
    """Fetch one page plus one row: the extra row says whether a next page exists.

    ``keys`` selects the primary keys in page order, ``rows`` the rows to show
    in that same order. A COUNT would cost time proportional to the rows matched on
    every page view, and "Newer" / "Older" links need nothing more than this.

    The page's keys are picked first, by a subquery that the ordering index alone
    answers; only then are those rows (and their joins) read. A late page thus skips
    index entries, not whole rows with their joined authors: page 500 of a profile
    costs little more than page 1.
    """
    number = max(number, 1)
    page_keys = keys.limit(per_page + 1).offset((number - 1) * per_page)
    key = keys.selected_columns[0]
    found = db.session.execute(rows.where(key.in_(page_keys))).all()
    return Page(items=list(found[:per_page]), number=number, has_next=len(found) > per_page)
