"""What a search finds, as rows: people by name, a page of posts best first, their marks.

Shared by the search page (app.search.routes) and the API (app.api.timelines),
which shape the same rows as HTML and as JSON.
"""

import re
from typing import Any

from flask import current_app
from sqlalchemy import Row, bindparam

from app.extensions import db
from app.posts.queries import POST_COLUMNS, post
from app.search import queries
from app.search.queries import START, STOP
from app.search.query import Search, fts5_query, websearch_text
from app.search.ranking import best_first

# What a name can hold (app/auth/forms.py); "@alice" looks for alice.
NAME_TEXT = re.compile(r"@?([A-Za-z0-9_.-]+)")
POSTS_BY_ID = POST_COLUMNS.where(post.c.id.in_(bindparam("ids", expanding=True)))


def like_pattern(text: str) -> str:
    """``text`` matched literally by LIKE (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def people_named(text: str, limit: int) -> list[Row[Any]]:
    """Up to ``limit`` people whose names hold ``text``, those starting with it first."""
    found = NAME_TEXT.fullmatch(text.strip())
    if found is None:
        return []
    name = like_pattern(found.group(1).lower())
    params = {"contains": f"%{name}%", "prefix": f"{name}%", "people_limit": limit}
    return list(db.session.execute(queries.PEOPLE, params))


def sqlite_ranked(query: str, offset: int, limit: int) -> tuple[list[int], dict[int, str]]:
    """The ids of ``limit`` ranked posts from ``offset``, and their marked texts."""
    params = {"query": query, "candidates": queries.CANDIDATES, "start": START, "stop": STOP}
    candidates = db.session.execute(queries.SQLITE_CANDIDATES, params).all()
    page = best_first(candidates)[offset : offset + limit]
    return [row.id for row in page], {row.id: row.marked for row in page}


def postgresql_ranked(query: str, offset: int, limit: int) -> tuple[list[int], None]:
    """The ids of ``limit`` ranked posts from ``offset``; their marks are read apart."""
    params = {
        "query": query,
        "candidates": queries.CANDIDATES,
        "page_limit": limit,
        "page_offset": offset,
    }
    return list(db.session.scalars(queries.POSTGRESQL_RANKED, params)), None


# Each backend's spelling of a search, and its ranking.
BY_DIALECT = {
    "sqlite": (fts5_query, sqlite_ranked),
    "postgresql": (websearch_text, postgresql_ranked),
}


class FoundPosts:
    """Page ``number`` of the posts that match ``search``, best first."""

    def __init__(self, search: Search, number: int) -> None:
        per_page = current_app.config["POSTS_PER_PAGE"]
        spelled, ranked = BY_DIALECT[db.session.get_bind().dialect.name]
        self._query = spelled(search)
        ids, self._marks = ranked(self._query, (number - 1) * per_page, per_page + 1)
        self.has_more = len(ids) > per_page
        shown = ids[:per_page]
        by_id = {}
        if shown:
            by_id = {row.id: row for row in db.session.execute(POSTS_BY_ID, {"ids": shown})}
        # A post deleted since the ranking is left out.
        self.rows: list[Row[Any]] = [by_id[id_] for id_ in shown if id_ in by_id]

    def marks(self) -> dict[int, str]:
        """Each shown post's text with the matched words between START and STOP."""
        if self._marks is not None:
            return self._marks
        ids = [row.id for row in self.rows]
        if not ids:
            return {}
        params = {"query": self._query, "ids": ids, "options": queries.HEADLINE_OPTIONS}
        return dict(db.session.execute(queries.POSTGRESQL_MARKED, params).all())
