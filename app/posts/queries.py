"""The rows of posts as every list shows them, and the statements of the post pages:
one post, a post's replies, a hashtag's posts.

Built once at import and run with bound parameters, as app.main.queries' are
(the feeds, explore and profiles list these same rows).
"""

from sqlalchemy import ColumnElement, and_, bindparam, func, null, or_, select

from app.models import Post, User, post_tags
from app.pagination import PageQuery

post = Post.__table__
user = User.__table__

AFTER = bindparam("after")
POST_ID = bindparam("post_id")
TAG = bindparam("tag")

NEWEST_FIRST = (post.c.timestamp.desc(), post.c.id.desc())
OLDEST_FIRST = (post.c.timestamp, post.c.id)
# Deleted posts keep their rows for their replies (app.models.Post.delete); lists skip them.
LIVE = post.c.deleted_at.is_(None)

reply = post.alias("reply")
answered = post.alias("answered")
answered_author = user.alias("answered_author")
REPLY_COUNT = (
    select(func.count())
    .select_from(reply)
    .where(reply.c.reply_to_id == post.c.id, reply.c.deleted_at.is_(None))
    .scalar_subquery()
)
# app.templating.shown_posts reads these columns by name; the API shows the version too.
POST_OWN_COLUMNS = (
    post.c.id,
    post.c.version,
    post.c.body,
    post.c.timestamp,
    post.c.edited_at,
    post.c.deleted_at,
    post.c.user_id,
    user.c.username.label("author"),
    user.c.email.label("email"),
    REPLY_COUNT.label("reply_count"),
)
# A post that answers a deleted one has a reply_to_id and no reply_to_author.
POST_COLUMNS = (
    select(
        *POST_OWN_COLUMNS,
        post.c.reply_to_id,
        answered_author.c.username.label("reply_to_author"),
    )
    .join_from(post, user, post.c.user_id == user.c.id)
    .outerjoin(answered, answered.c.id == post.c.reply_to_id)
    .outerjoin(
        answered_author,
        and_(answered_author.c.id == answered.c.user_id, answered.c.deleted_at.is_(None)),
    )
)
POST_ROWS = POST_COLUMNS.order_by(*NEWEST_FIRST)

# A post, deleted or not (a deleted one still heads its replies), and the post it
# answers, in one statement.
thread_head = post.alias("thread_head")
POST_AND_ANSWERED = POST_COLUMNS.where(
    or_(
        post.c.id == POST_ID,
        post.c.id
        == select(thread_head.c.reply_to_id).where(thread_head.c.id == POST_ID).scalar_subquery(),
    )
)


def after_timestamp() -> ColumnElement:
    """The time of the post ``after``: where an "Older"/"Later" link reads on from."""
    return select(post.c.timestamp).where(post.c.id == AFTER).scalar_subquery()


def newer_than_after() -> ColumnElement[bool]:
    """The replies after the reply ``after``, oldest first."""
    timestamp = after_timestamp()
    newer_on_ties = or_(post.c.timestamp > timestamp, post.c.id > AFTER)
    return and_(post.c.timestamp >= timestamp, newer_on_ties)


# A thread reads top to bottom: a post's replies, oldest first. Under the post they
# answer, they need no "Replying to" line: no post they answer is read.
REPLIES = PageQuery.of(
    select(post.c.id).where(LIVE, post.c.reply_to_id == POST_ID).order_by(*OLDEST_FIRST),
    select(
        *POST_OWN_COLUMNS,
        null().label("reply_to_id"),
        null().label("reply_to_author"),
    )
    .join_from(post, user, post.c.user_id == user.c.id)
    .order_by(*OLDEST_FIRST),
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
