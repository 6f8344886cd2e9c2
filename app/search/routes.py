"""The search page: people by name, posts by their words (see ``app.search.query``)."""

import re

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from app.pagination import Page, requested_page
from app.search import queries
from app.search.query import MAX_QUERY_LENGTH, Search, parse
from app.search.results import FoundPosts, people_named
from app.templating import shown_people, shown_posts

bp = Blueprint("search", __name__)

PEOPLE_SHOWN = 5
MARKED = re.compile(f"{queries.START}(.*?){queries.STOP}", re.S)


def marked_words(body: str, marked: str | None) -> frozenset[str]:
    """The words the database marked in ``body`` (none if the post holds a mark itself)."""
    if marked is None or queries.START in body or queries.STOP in body:
        return frozenset()
    return frozenset(MARKED.findall(marked))


def posts_found(search: Search, number: int) -> Page:
    """The page ``number`` of the posts that match, best first, each with its marks."""
    found = FoundPosts(search, number)
    marks = found.marks()
    words = {row.id: marked_words(row.body, marks.get(row.id)) for row in found.rows}
    return Page(shown_posts(found.rows, words), number, found.has_more)


@bp.route("/search")
def search() -> str:
    text = request.args.get("q", "")
    if len(text) > MAX_QUERY_LENGTH:
        abort(
            400, description=_("Search for at most %(count)s characters.", count=MAX_QUERY_LENGTH)
        )
    wanted = parse(text)
    number = requested_page()
    people = shown_people(people_named(text, PEOPLE_SHOWN)) if text.strip() and number == 1 else []
    posts = Page([], number, False) if wanted.is_empty else posts_found(wanted, number)
    if number > 1 and not posts.items:
        abort(404)
    return render_template(
        "search/results.html",
        title=_("Search: %(words)s", words=text) if text.strip() else _("Search"),
        q=text,
        searched=bool(text.strip()),
        people=people,
        page=posts,
    )
