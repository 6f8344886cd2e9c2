"""The statement of the account pages' list of the people one blocks."""

from sqlalchemy import bindparam, select

from app.main.queries import people_page, user
from app.models import blocks

# By name, as the lists of followers are (app.main.queries).
BLOCKED_BY = people_page(
    user.c.id.in_(select(blocks.c.blocked_id).where(blocks.c.blocker_id == bindparam("user_id")))
)
