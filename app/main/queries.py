"""The statements of the pages, built once at import and run with bound parameters.

Each is a Core select of the columns a page shows: the pages only read them, so
no ORM objects are built (docs/performance.md). See
``app.pagination.PageQuery`` on how a list is read page by page.
"""

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, or_, select

from app.models import blocks_of, followers, followers_count_of, following_count_of
from app.pagination import PageQuery
from app.posts.queries import AFTER, LIVE, NEWEST_FIRST, POST_ROWS, after_timestamp, post, user

USER_ID = bindparam("user_id")


def older_than_after() -> ColumnElement[bool]:
    """The posts after the post ``after`` in newest-first order."""
    timestamp = after_timestamp()
    # The first comparison alone bounds the index range the database reads.
    older_on_ties = or_(post.c.timestamp < timestamp, post.c.id < AFTER)
    return and_(post.c.timestamp <= timestamp, older_on_ties)


def posts_page(*criteria: ColumnElement[bool]) -> PageQuery:
    keys = select(post.c.id).where(LIVE, *criteria).order_by(*NEWEST_FIRST)
    return PageQuery.of(keys, POST_ROWS, older_than_after())


def feed_page(author: ColumnElement[int]) -> PageQuery:
    """A home feed: the followed people's posts and the user's own."""
    followed = select(followers.c.followed_id).where(followers.c.follower_id == USER_ID)
    return posts_page(or_(author.in_(followed), author == USER_ID))


EXPLORE = posts_page()
PROFILE_POSTS = posts_page(post.c.user_id == USER_ID)
# How a feed is read depends on how many people it covers. Following many, a page
# is found by walking every post newest first and keeping the followed authors'
# (a few dozen rows for 50 follows); seeking each author's posts through the author
# index would read and sort all of them first (50,000 rows for 500 follows). Following
# few, their posts are few, and seeking them beats walking past everyone else's
# (the figures: docs/performance.md).
WALK_FEED_FROM = 20
# "+ 0" hides the author index from the planner (SQLite would always prefer it).
FEED_OF_NOBODY_FOLLOWED = PROFILE_POSTS
FEED_SEEKING_AUTHORS = feed_page(post.c.user_id)
FEED_WALKING_POSTS = feed_page(post.c.user_id + 0)


def feed_for(following_count: int) -> PageQuery:
    if following_count == 0:
        return FEED_OF_NOBODY_FOLLOWED
    return FEED_WALKING_POSTS if following_count >= WALK_FEED_FROM else FEED_SEEKING_AUTHORS


# The profile named in a URL, as its pages show it.
PROFILE = select(
    user.c.id, user.c.username, user.c.email, user.c.about_me, user.c.last_seen
).where(func.lower(user.c.username) == bindparam("username"))
# The profile page's (and its hover card's): PROFILE's row with its two counts,
# whether the viewer follows it and whether the viewer blocks it, in one statement
# (each subquery reads the profile's row). Whether it blocks the viewer is never
# shown: a block is invisible to the one blocked.
PROFILE_WITH_FOLLOWS = PROFILE.add_columns(
    followers_count_of(user.c.id).label("followers_count"),
    following_count_of(user.c.id).label("following_count"),
    exists()
    .where(followers.c.follower_id == bindparam("viewer_id"), followers.c.followed_id == user.c.id)
    .label("is_following"),
    blocks_of(bindparam("viewer_id"), user.c.id).label("is_blocking"),
)


def people_page(chosen: ColumnElement[bool]) -> PageQuery:
    by_name = (func.lower(user.c.username), user.c.id)
    return PageQuery.of(
        select(user.c.id).where(chosen).order_by(*by_name),
        # app.templating.shown_people reads these columns by name.
        select(user.c.username, user.c.email, user.c.about_me).order_by(*by_name),
    )


FOLLOWERS_OF = people_page(
    user.c.id.in_(select(followers.c.follower_id).where(followers.c.followed_id == USER_ID))
)
FOLLOWED_BY = people_page(
    user.c.id.in_(select(followers.c.followed_id).where(followers.c.follower_id == USER_ID))
)
