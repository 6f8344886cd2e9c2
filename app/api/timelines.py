"""The lists of posts that are not one user's: the home feed, Explore, and search."""

from typing import Any

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
from app.main import queries
from app.pagination import Page
from app.search.query import parse
from app.search.results import FoundPosts, people_named
from app.security.rate_limits import limit_api_calls

bp = resource_blueprint("api_timelines", PREFIX, "The home feed, Explore, search")

PEOPLE_FOUND = 5


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


def posts_found(text: str, number: int) -> Page:
    """Page ``number`` of the posts that match ``text``, best first (app.search)."""
    wanted = parse(text)
    if wanted.is_empty:
        return Page([], number, False)
    found = FoundPosts(wanted, number)
    return Page(found.rows, number, found.has_more)


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
        "people": people_json(people_named(text, PEOPLE_FOUND))
        if text.strip() and number == 1
        else [],
        "items": posts_json(page.items),
        "next": next_url(page, q=text, page=number + 1),
    }
