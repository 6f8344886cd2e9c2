"""Query counts: pages cost a fixed number of SQL statements, whatever the data behind them."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert

from app.database import utcnow
from app.extensions import db
from app.models import Post, User

PER_PAGE = 10


@pytest.fixture
def app_settings() -> dict[str, object]:
    return {"POSTS_PER_PAGE": PER_PAGE}


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """Record every statement the app's engine sends to the database."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def add_authors_with_posts(authors: int, posts_each: int) -> list[int]:
    """Bulk-add users, each with posts; return their ids."""
    first = db.session.query(db.func.coalesce(db.func.max(User.id), 0)).scalar() + 1
    users = [
        {"id": first + n, "username": f"author{first + n}", "email": f"a{first + n}@example.com"}
        for n in range(authors)
    ]
    db.session.execute(insert(User), users)
    now = utcnow()
    posts = [
        {"body": f"post {k} by {user['id']}", "user_id": user["id"], "timestamp": now}
        for user in users
        for k in range(posts_each)
    ]
    if posts:
        db.session.execute(insert(Post), posts)
    db.session.commit()
    return [user["id"] for user in users]


def starts_with(statement: str, prefix: str) -> bool:
    """Compare SQL the same way on every backend (PostgreSQL quotes "user")."""
    return statement.replace('"', "").lstrip().upper().startswith(prefix)


def statements_for(client, path: str) -> list[str]:
    client.get(path)  # settles one-off work such as the throttled last_seen write
    with sql_statements() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return statements


def test_home_page_costs_the_same_statements_for_one_author_or_many(client, logged_in):
    add_authors_with_posts(authors=1, posts_each=1)
    few = statements_for(client, "/index")

    add_authors_with_posts(authors=3 * PER_PAGE, posts_each=2)
    page = client.get("/index").get_data(as_text=True)
    assert page.count('class="list-group-item') == PER_PAGE  # a full page of many authors
    many = statements_for(client, "/index")

    assert len(many) == len(few) <= 2, many


def test_profile_costs_the_same_statements_for_ten_posts_or_a_thousand(client, logged_in):
    [small] = add_authors_with_posts(authors=1, posts_each=10)
    [big] = add_authors_with_posts(authors=1, posts_each=1000)
    add_authors_with_posts(authors=2 * PER_PAGE, posts_each=3)
    small_page = statements_for(client, f"/user/author{small}")
    big_first = statements_for(client, f"/user/author{big}")
    big_last = statements_for(client, f"/user/author{big}?page={1000 // PER_PAGE}")

    assert len(small_page) == len(big_first) == len(big_last) <= 3, big_last


def test_many_authors_on_a_page_are_loaded_with_their_posts_not_one_by_one(client, logged_in):
    add_authors_with_posts(authors=PER_PAGE, posts_each=1)
    with sql_statements() as statements:
        page = client.get("/index").get_data(as_text=True)
    user_selects = [s for s in statements if starts_with(s, "SELECT USER.")]
    assert page.count('class="list-group-item') == PER_PAGE
    assert len(user_selects) <= 1, statements  # the logged-in user, nothing per post


def test_last_seen_is_not_rewritten_on_every_page_view(client, logged_in):
    with sql_statements() as statements:
        client.get("/index")
        client.get("/index")
    assert not [s for s in statements if starts_with(s, "UPDATE")]
    logged_in.last_seen = utcnow() - timedelta(minutes=5)
    db.session.commit()
    with sql_statements() as statements:
        client.get("/index")
    assert len([s for s in statements if starts_with(s, "UPDATE")]) == 1


def test_posts_and_last_seen_show_their_utc_time_in_a_time_element(client, logged_in):
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    db.session.add(Post(body="dated", author=logged_in, timestamp=moment))
    db.session.commit()
    page = client.get("/user/alice").get_data(as_text=True)
    element = '<time datetime="2026-03-04T05:06:07Z" title="2026-03-04 05:06 UTC">'
    assert element + "2026-03-04 05:06 UTC</time>" in page
    assert re.search(r'Last seen on: <time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', page)
