"""The statement of the Notifications page, built once at import (see app.pagination)."""

from sqlalchemy import bindparam, select

from app.models import Notification, Post, User
from app.pagination import PageQuery

notification = Notification.__table__
actor = User.__table__
post = Post.__table__

# The user's notifications, newest first, from the index on (user_id, id); each with
# who did it and the post it is about (a reply, a post naming the user), if any.
NOTIFICATIONS = PageQuery.of(
    select(notification.c.id)
    .where(notification.c.user_id == bindparam("user_id"))
    .order_by(notification.c.id.desc()),
    # templates/notifications/notifications.html reads these columns by name.
    select(
        notification.c.id,
        notification.c.kind,
        notification.c.post_id,
        notification.c.created_at,
        notification.c.read_at,
        actor.c.username,
        actor.c.email,
        post.c.body,
    )
    .join_from(notification, actor, actor.c.id == notification.c.actor_id)
    .outerjoin(post, post.c.id == notification.c.post_id)
    .order_by(notification.c.id.desc()),
    notification.c.id < bindparam("after"),
)
