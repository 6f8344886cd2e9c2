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


def paginate(stmt: Select[Any], number: int, per_page: int) -> Page:
    """Fetch one page plus one row: the extra row says whether a next page exists.

    A COUNT would cost time proportional to the rows matched on every page view,
    and "Newer" / "Older" links need nothing more than this.
    """
    number = max(number, 1)
    rows = db.session.scalars(stmt.limit(per_page + 1).offset((number - 1) * per_page)).all()
    return Page(items=list(rows[:per_page]), number=number, has_next=len(rows) > per_page)
