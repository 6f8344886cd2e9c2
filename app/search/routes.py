"""The search page: people by name, posts by their words (see ``app.search.query``)."""

import re

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import bindparam

from app.extensions import db
from app.pagination import Page, requested_page
from app.posts.queries import POST_COLUMNS, post
from app.search import queries
from app.search.query import MAX_QUERY_LENGTH, Search, fts5_query, parse, websearch_text
from app.templating import shown_people, shown_posts

bp = Blueprint("search", __name__)

PEOPLE_SHOWN = 5
# What a name can hold (app/auth/forms.py); "@alice" looks for alice.
NAME_TEXT = re.compile(r"@?([A-Za-z0-9_.-]+)")
TOO_LONG = f"Search for at most {MAX_QUERY_LENGTH} characters."
MARKED = re.compile(f"{queries.START}(.*?){queries.STOP}", re.S)
POSTS_BY_ID = POST_COLUMNS.where(post.c.id.in_(bindparam("ids", expanding=True)))
# Each backend's spelling of a search, its ranked statement and its marking statement.
BY_DIALECT = {
    "sqlite": (fts5_query, queries.SQLITE_RANKED, queries.SQLITE_MARKED),
    "postgresql": (websearch_text, queries.POSTGRESQL_RANKED, queries.POSTGRESQL_MARKED),
}


def like_pattern(text: str) -> str:
    """``text`` matched literally by LIKE (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def people_named(text: str) -> list:
    found = NAME_TEXT.fullmatch(text.strip())
    if found is None:
        return []
    name = like_pattern(found.group(1).lower())
    params = {"contains": f"%{name}%", "prefix": f"{name}%", "people_limit": PEOPLE_SHOWN}
    return shown_people(db.session.execute(queries.PEOPLE, params))


def marked_words(body: str, marked: str | None) -> frozenset[str]:
    """The words the database marked in ``body`` (none if the post holds a mark itself)."""
    if marked is None or queries.START in body or queries.STOP in body:
        return frozenset()
    return frozenset(MARKED.findall(marked))


def posts_found(search: Search, number: int) -> Page:
    """The page ``number`` of the posts that match, best first, each with its marks."""
    per_page = current_app.config["POSTS_PER_PAGE"]
    spelled, ranked, marked = BY_DIALECT[db.session.get_bind().dialect.name]
    query = spelled(search)
    params = {
        "query": query,
        "candidates": queries.CANDIDATES,
        "page_limit": per_page + 1,
        "page_offset": (number - 1) * per_page,
    }
    ids = list(db.session.scalars(ranked, params))
    shown_ids = ids[:per_page]
    if not shown_ids:
        return Page([], number, False)
    marks_params = {
        "query": query,
        "ids": shown_ids,
        "lowest": min(shown_ids),
        "highest": max(shown_ids),
        **queries.MARKS,
    }
    marks = dict(db.session.execute(marked, marks_params).all())
    rows = {row.id: row for row in db.session.execute(POSTS_BY_ID, {"ids": shown_ids})}
    in_order = [rows[id_] for id_ in shown_ids if id_ in rows]
    words = {row.id: marked_words(row.body, marks.get(row.id)) for row in in_order}
    return Page(shown_posts(in_order, words), number, len(ids) > per_page)


@bp.route("/search")
def search() -> str:
    text = request.args.get("q", "")
    if len(text) > MAX_QUERY_LENGTH:
        abort(400, description=TOO_LONG)
    wanted = parse(text)
    number = requested_page()
    people = people_named(text) if text.strip() and number == 1 else []
    posts = Page([], number, False) if wanted.is_empty else posts_found(wanted, number)
    if number > 1 and not posts.items:
        abort(404)
    return render_template(
        "search/results.html",
        title=f"Search: {text}" if text.strip() else "Search",
        q=text,
        searched=bool(text.strip()),
        people=people,
        page=posts,
    )
