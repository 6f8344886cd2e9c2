"""The lists of posts that are not one user's: the home feed, Explore, and search."""

import re
from typing import Any

from flask import current_app
from sqlalchemy import bindparam

from app.api.authentication import api_user, token_required
from app.api.lists import next_arguments, read_page
from app.api.representations import next_url, page_json, people_json, posts_json
from app.api.schemas import (
    IN_QUERY,
    PageArgsSchema,
    PostPageSchema,
    SearchArgsSchema,
    SearchResultsSchema,
)
from app.api.spec import PREFIX, resource_blueprint
from app.extensions import db
from app.main import queries
from app.pagination import Page
from app.posts.queries import POST_COLUMNS, post
from app.search import queries as search_queries
from app.search.query import fts5_query, parse, websearch_text
from app.security.rate_limits import limit_api_calls

bp = resource_blueprint("api_timelines", PREFIX, "The home feed, Explore, search")

PEOPLE_FOUND = 5
# What a name can hold (app/auth/forms.py); "@alice" looks for alice.
NAME_TEXT = re.compile(r"@?([A-Za-z0-9_.-]+)")
POSTS_BY_ID = POST_COLUMNS.where(post.c.id.in_(bindparam("ids", expanding=True)))
# Each backend's spelling of a search and its ranked statement (app.search).
RANKED_BY_DIALECT = {
    "sqlite": (fts5_query, search_queries.SQLITE_RANKED),
    "postgresql": (websearch_text, search_queries.POSTGRESQL_RANKED),
}


@bp.route("/feed")
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, PostPageSchema)
def feed(arguments: dict[str, Any]) -> Any:
    """Your home feed: your posts and those of the people you follow, newest first."""
    user = api_user()
    page = read_page(queries.feed_for(user.following_count), arguments, user_id=user.id)
    return page_json(page, posts_json(page.items), **next_arguments(page, arguments))


@bp.route("/explore")
@token_required
@limit_api_calls
@bp.arguments(PageArgsSchema, **IN_QUERY)
@bp.response(200, PostPageSchema)
def explore(arguments: dict[str, Any]) -> Any:
    """Everyone's posts, newest first."""
    page = read_page(queries.EXPLORE, arguments)
    return page_json(page, posts_json(page.items), **next_arguments(page, arguments))


def like_pattern(text: str) -> str:
    """``text`` matched literally by LIKE (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def people_named(text: str) -> list[dict[str, Any]]:
    found = NAME_TEXT.fullmatch(text.strip())
    if found is None:
        return []
    name = like_pattern(found.group(1).lower())
    params = {"contains": f"%{name}%", "prefix": f"{name}%", "people_limit": PEOPLE_FOUND}
    return people_json(db.session.execute(search_queries.PEOPLE, params))


def posts_found(text: str, number: int) -> Page:
    """Page ``number`` of the posts that match ``text``, best first (app.search)."""
    wanted = parse(text)
    if wanted.is_empty:
        return Page([], number, False)
    per_page = current_app.config["POSTS_PER_PAGE"]
    spelled, ranked = RANKED_BY_DIALECT[db.session.get_bind().dialect.name]
    params = {
        "query": spelled(wanted),
        "candidates": search_queries.CANDIDATES,
        "page_limit": per_page + 1,
        "page_offset": (number - 1) * per_page,
    }
    ids = list(db.session.scalars(ranked, params))[: per_page + 1]
    shown = ids[:per_page]
    rows = {row.id: row for row in db.session.execute(POSTS_BY_ID, {"ids": shown})}
    return Page([rows[id_] for id_ in shown if id_ in rows], number, len(ids) > per_page)


@bp.route("/search")
@token_required
@limit_api_calls
@bp.arguments(SearchArgsSchema, **IN_QUERY)
@bp.response(200, SearchResultsSchema)
def search(arguments: dict[str, Any]) -> Any:
    """People whose names hold the text (first page), and the posts that hold its words."""
    text, number = arguments["q"], arguments["page"]
    page = posts_found(text, number) if text.strip() else Page([], number, False)
    return {
        "people": people_named(text) if text.strip() and number == 1 else [],
        "items": posts_json(page.items),
        "next": next_url(page, q=text, page=number + 1),
    }
