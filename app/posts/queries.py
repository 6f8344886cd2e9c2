"""The statements of the post pages: one post, a post's replies, a hashtag's posts.

Built once, as app.main.queries' are; their rows are the lists' rows (POST_COLUMNS).
"""

from sqlalchemy import ColumnElement, and_, bindparam, or_, select

from app.main.pagination import PageQuery
from app.main.queries import AFTER, LIVE, OLDEST_FIRST, POST_COLUMNS, POST_ROWS, post
from app.models import post_tags

POST_ID = bindparam("post_id")
TAG = bindparam("tag")

# A post, deleted or not: a deleted one still heads its replies.
ONE_POST = POST_COLUMNS.where(post.c.id == POST_ID)


def after_timestamp() -> ColumnElement:
    return select(post.c.timestamp).where(post.c.id == AFTER).scalar_subquery()


def newer_than_after() -> ColumnElement[bool]:
    """The replies after the reply ``after``, oldest first."""
    timestamp = after_timestamp()
    newer_on_ties = or_(post.c.timestamp > timestamp, post.c.id > AFTER)
    return and_(post.c.timestamp >= timestamp, newer_on_ties)


# A thread reads top to bottom: a post's replies, oldest first.
REPLIES = PageQuery.of(
    select(post.c.id).where(LIVE, post.c.reply_to_id == POST_ID).order_by(*OLDEST_FIRST),
    POST_COLUMNS.order_by(*OLDEST_FIRST),
    newer_than_after(),
)


def tagged_older_than_after() -> ColumnElement[bool]:
    """A tag's posts after the post ``after``, newest first (by the time kept in post_tag)."""
    timestamp = after_timestamp()
    older_on_ties = or_(post_tags.c.timestamp < timestamp, post_tags.c.post_id < AFTER)
    return and_(post_tags.c.timestamp <= timestamp, older_on_ties)


# post_tag holds live posts only (Post.delete removes a post's tags): a tag's page
# is read from its index alone, newest first, however many posts carry the tag.
TAGGED_POSTS = PageQuery.of(
    select(post_tags.c.post_id)
    .where(post_tags.c.tag == TAG)
    .order_by(post_tags.c.timestamp.desc(), post_tags.c.post_id.desc()),
    POST_ROWS,
    tagged_older_than_after(),
    row_key=post.c.id,
)
