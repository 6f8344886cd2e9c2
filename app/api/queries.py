"""The API's own statements, built once at import: the rest are the pages' own.

The lists of people read on from the last person of the previous page (a keyset on
the name's lower case and the id, the order of the pages' lists and of the unique
index on lower(username)), so that a client paging through 10,000 followers never
makes the database skip rows. Posts are read by the pages' statements
(app.main.queries, app.posts.queries), which already read on from a post.
"""

from sqlalchemy import and_, func, or_, select

from app.main.queries import USER_ID
from app.models import blocks, followers
from app.pagination import PageQuery
from app.posts.queries import AFTER, POST_COLUMNS, POST_ID, post, user

ONE_POST = POST_COLUMNS.where(post.c.id == POST_ID)

lower_name = func.lower(user.c.username)
BY_NAME = (lower_name, user.c.id)


def after_person() -> object:
    """The people after the person ``after`` in the order of names."""
    name = select(func.lower(user.c.username)).where(user.c.id == AFTER).scalar_subquery()
    return or_(lower_name > name, and_(lower_name == name, user.c.id > AFTER))


def people_page(chosen: object) -> PageQuery:
    return PageQuery.of(
        select(user.c.id).where(chosen).order_by(*BY_NAME),
        select(user.c.id, user.c.username, user.c.email, user.c.about_me).order_by(*BY_NAME),
        after_person(),
    )


FOLLOWERS_OF = people_page(
    user.c.id.in_(select(followers.c.follower_id).where(followers.c.followed_id == USER_ID))
)
FOLLOWED_BY = people_page(
    user.c.id.in_(select(followers.c.followed_id).where(followers.c.follower_id == USER_ID))
)
BLOCKED_BY = people_page(
    user.c.id.in_(select(blocks.c.blocked_id).where(blocks.c.blocker_id == USER_ID))
)
