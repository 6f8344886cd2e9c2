"""Query counts: pages cost a fixed number of SQL statements, whatever the data behind them.

The budgets (the ``<=`` bounds) are what each page needs today, stated so that a new
query on a page is a decision, not an accident.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from app.database import utcnow
from app.extensions import db
from app.main.queries import WALK_FEED_FROM
from app.models import Post
from testkit.api_clients import bearer, obtain_token
from testkit.bulk import add_authors_with_posts, add_conversations, add_follows
from testkit.clients import Auth, link_to, page_text
from testkit.statements import sql_statements, starts_with

# Each backend has its own SQL (and its own way to read a feed): every budget on both.
pytestmark = pytest.mark.both_databases

PER_PAGE = 10


@pytest.fixture
def app_settings() -> dict[str, object]:
    return {"POSTS_PER_PAGE": PER_PAGE}


def statements_for(client, path: str, **kwargs) -> list[str]:
    client.get(path, **kwargs)  # settles one-off work such as the throttled last_seen write
    with sql_statements() as statements:
        response = client.get(path, **kwargs)
    assert response.status_code == 200
    return statements


def test_home_page_costs_the_same_statements_for_one_author_or_many(client, logged_in):
    add_follows([logged_in.id], add_authors_with_posts(authors=1, posts_each=1))
    few = statements_for(client, "/index")

    add_follows([logged_in.id], add_authors_with_posts(authors=3 * PER_PAGE, posts_each=2))
    page = client.get("/index").get_data(as_text=True)
    assert page.count('class="list-group-item') == PER_PAGE  # a full page of many authors
    many = statements_for(client, "/index")

    # The user (with how many people they follow) and the feed's page.
    assert len(many) == len(few) <= 2, many


def test_profile_costs_the_same_statements_for_ten_posts_or_a_thousand(client, logged_in):
    [small] = add_authors_with_posts(authors=1, posts_each=10)
    [big] = add_authors_with_posts(authors=1, posts_each=1000)
    add_authors_with_posts(authors=2 * PER_PAGE, posts_each=3)
    small_page = statements_for(client, f"/user/author{small}")
    big_first = statements_for(client, f"/user/author{big}")
    big_last = statements_for(client, f"/user/author{big}?page={1000 // PER_PAGE}")

    # The user, the profile (with its two counts and whether alice follows them), its
    # page of posts.
    assert len(small_page) == len(big_first) == len(big_last) <= 3, big_last


def test_many_authors_on_a_page_are_loaded_with_their_posts_not_one_by_one(client, logged_in):
    add_follows([logged_in.id], add_authors_with_posts(authors=PER_PAGE, posts_each=1))
    for path in ("/index", "/explore"):
        with sql_statements() as statements:
            page = client.get(path).get_data(as_text=True)
        user_selects = [s for s in statements if starts_with(s, "SELECT USER.")]
        assert page.count('class="list-group-item') == PER_PAGE, path
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
    assert re.search(r'Last seen <time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', page)


# --- Feed, explore, profiles and lists of people, with few or many follows ------------------


def test_feed_costs_the_same_statements_following_one_person_or_many(client, logged_in):
    add_follows([logged_in.id], add_authors_with_posts(authors=1, posts_each=2))
    few = statements_for(client, "/index")

    many_authors = add_authors_with_posts(authors=60, posts_each=5)
    add_follows([logged_in.id], many_authors)
    add_follows(many_authors, [logged_in.id])  # many followers change nothing either
    add_authors_with_posts(authors=20, posts_each=5)  # people alice does not follow
    many_first = statements_for(client, "/index")
    many_late = statements_for(client, f"/index?page={300 // PER_PAGE}")

    assert len(few) == len(many_first) == len(many_late) <= 3, many_late


def test_feed_of_someone_who_follows_nobody_costs_the_same(client, logged_in):
    lonely = statements_for(client, "/index")
    add_follows([logged_in.id], add_authors_with_posts(authors=5, posts_each=5))
    following = statements_for(client, "/index")
    assert len(lonely) == len(following) <= 3, lonely


@pytest.mark.parametrize("signed_in", [True, False], ids=["member", "visitor"])
def test_explore_costs_the_same_statements_on_any_page_whatever_the_data(app, alice, signed_in):
    client = app.test_client()
    if signed_in:
        Auth(client).login()
    add_authors_with_posts(authors=1, posts_each=1)
    few = statements_for(client, "/explore")

    add_authors_with_posts(authors=50, posts_each=20)
    page = client.get("/explore").get_data(as_text=True)
    assert page.count('class="list-group-item') == PER_PAGE
    many_first = statements_for(client, "/explore")
    many_last = statements_for(client, f"/explore?page={(1 + 50 * 20) // PER_PAGE + 1}")
    older = link_to(page, "Older posts")
    assert "after=" in older
    many_older = statements_for(client, older)

    budget = 2 if signed_in else 1  # (the user) and the page of posts
    assert len(few) == len(many_first) == len(many_last) == len(many_older) <= budget, many_older


@pytest.mark.parametrize("direction", ["followers", "following"])
def test_lists_of_people_cost_the_same_statements_for_few_or_many(client, logged_in, direction):
    [few_id, many_id] = add_authors_with_posts(authors=2, posts_each=1)
    people = add_authors_with_posts(authors=45, posts_each=1)

    def link(person: int, others: list[int]) -> None:
        if direction == "followers":
            add_follows(others, [person])
        else:
            add_follows([person], others)

    link(few_id, people[:2])
    link(many_id, people)
    few = statements_for(client, f"/user/author{few_id}/{direction}")
    page = client.get(f"/user/author{many_id}/{direction}").get_data(as_text=True)
    assert page.count('class="list-group-item') == PER_PAGE
    many_first = statements_for(client, f"/user/author{many_id}/{direction}")
    many_last = statements_for(client, f"/user/author{many_id}/{direction}?page=5")

    # The user, the profile, the page of people.
    assert len(few) == len(many_first) == len(many_last) <= 3, many_last


def test_profile_costs_the_same_statements_for_few_or_many_follows(client, logged_in):
    [quiet, popular] = add_authors_with_posts(authors=2, posts_each=3)
    crowd = add_authors_with_posts(authors=80, posts_each=0)
    add_follows(crowd, [popular])
    add_follows([popular], crowd)
    add_follows([logged_in.id], [popular])
    quiet_page = statements_for(client, f"/user/author{quiet}")
    popular_page = page_text(client.get(f"/user/author{popular}"))
    assert ">81 followers</a>" in popular_page and ">80 following</a>" in popular_page
    popular_statements = statements_for(client, f"/user/author{popular}")
    own = statements_for(client, "/user/alice")

    assert len(quiet_page) == len(popular_statements) <= 3, popular_statements
    assert len(own) <= len(quiet_page), own  # no Follow button to decide on


@pytest.mark.parametrize(
    ("follows", "followed_by", "plan"),
    [
        (0, WALK_FEED_FROM, "own posts"),
        (1, 0, "seek authors"),
        (WALK_FEED_FROM - 1, WALK_FEED_FROM, "seek authors"),
        (WALK_FEED_FROM, 0, "walk posts"),
    ],
)
def test_home_page_reads_the_feed_the_way_the_users_follow_count_calls_for(
    client, logged_in, follows, followed_by, plan
):
    """The count of people followed comes with the signed-in user's row, and picks the
    feed's plan (app.main.queries.feed_for); people following the user do not count."""
    if follows:
        add_follows([logged_in.id], add_authors_with_posts(authors=follows, posts_each=1))
    if followed_by:
        add_follows(add_authors_with_posts(authors=followed_by, posts_each=0), [logged_in.id])
    statements = [s.replace('"', "") for s in statements_for(client, "/index")]
    [feed] = [s for s in statements if "FROM post" in s]
    walks = "post.user_id + " in feed
    seeks = "followers" in feed and not walks
    assert {"own posts": not seeks and not walks, "seek authors": seeks, "walk posts": walks}[plan]
    page = page_text(client.get("/index"))
    assert ("You are not following anyone yet" in page) == (follows == 0)


# --- A post's page, a hashtag's page, posts that name people ------------------------------------


def add_replies(post_id: int, count: int, body: str = "reply") -> None:
    author = db.session.get(Post, post_id).user_id
    now = utcnow()
    rows = [
        {"body": f"{body} {n}", "user_id": author, "reply_to_id": post_id, "timestamp": now}
        for n in range(count)
    ]
    db.session.execute(insert(Post), rows)
    db.session.commit()


def test_a_post_page_costs_the_same_statements_for_one_reply_or_two_hundred(client, logged_in):
    [author] = add_authors_with_posts(authors=1, posts_each=3)
    quiet, busy, named = db.session.scalars(db.select(Post.id).where(Post.user_id == author))
    add_replies(quiet, 1)
    add_replies(busy, 200)
    add_replies(named, 1, "@alice and @nobody #late")
    late_reply = db.session.scalar(db.select(db.func.max(Post.id)))
    one = statements_for(client, f"/post/{quiet}")
    many_first = statements_for(client, f"/post/{busy}")
    many_last = statements_for(client, f"/post/{busy}?page={200 // PER_PAGE}")
    older = link_to(page_text(client.get(f"/post/{busy}")), "Later replies")
    assert "after=" in older
    many_later = statements_for(client, older)
    # A reply's page reads the post it answers too, and the page names people.
    reply_page = statements_for(client, f"/post/{late_reply}")

    # The user, the post (with the post it answers), its page of replies; a page that
    # names people looks their names up once.
    assert len(one) == len(many_first) == len(many_last) == len(many_later) <= 3, many_last
    assert len(reply_page) <= 4, reply_page


def test_a_tag_page_costs_the_same_statements_for_one_post_or_many(client, logged_in):
    from app.models import post_tags

    add_authors_with_posts(authors=30, posts_each=10)
    posts = db.session.execute(db.select(Post.id, Post.timestamp)).all()
    rows = [{"post_id": id_, "tag": "busy", "timestamp": ts} for id_, ts in posts]
    rows.append({"post_id": posts[0].id, "tag": "quiet", "timestamp": posts[0].timestamp})
    db.session.execute(insert(post_tags), rows)
    db.session.commit()
    quiet = statements_for(client, "/tag/quiet")
    busy_first = statements_for(client, "/tag/busy")
    busy_last = statements_for(client, f"/tag/busy?page={300 // PER_PAGE}")
    older = link_to(page_text(client.get("/tag/busy")), "Older posts")
    busy_older = statements_for(client, older)

    # The user and the page of tagged posts.
    assert len(quiet) == len(busy_first) == len(busy_last) == len(busy_older) <= 2, busy_last


def test_names_in_posts_are_looked_up_once_per_page_however_many(client, logged_in):
    [author] = add_authors_with_posts(authors=1, posts_each=0)
    db.session.add_all(
        Post(body=f"@alice @author{author} @nobody{n} #tag{n}", user_id=author)
        for n in range(PER_PAGE)
    )
    db.session.commit()
    statements = statements_for(client, "/explore")
    names = [s for s in statements if "lower(" in s.lower() and "IN (" in s.upper()]
    # The user, the page of posts, and one look-up of every name on it.
    assert len(statements) <= 3 and len(names) == 1, statements


# --- Messages, notifications, hover cards, the poll -------------------------------------------


def test_the_messages_page_costs_the_same_for_one_conversation_or_500(client, logged_in):
    add_conversations(logged_in.id, add_authors_with_posts(authors=1, posts_each=0), 1)
    one = statements_for(client, "/messages")
    add_conversations(logged_in.id, add_authors_with_posts(authors=500, posts_each=0), 1)
    page = page_text(client.get("/messages"))
    assert page.count('class="list-group-item') == PER_PAGE
    many_first = statements_for(client, "/messages")
    many_last = statements_for(client, f"/messages?page={501 // PER_PAGE + 1}")
    older = link_to(page, "Older conversations")
    assert "after=" in older
    many_older = statements_for(client, older)

    # The user (with the navigation bar's counts), the page of conversations.
    assert len(one) == len(many_first) == len(many_last) == len(many_older) <= 2, many_older


def test_a_conversation_costs_the_same_for_one_message_or_1000(client, logged_in):
    [quiet, busy] = add_authors_with_posts(authors=2, posts_each=0)
    add_conversations(logged_in.id, [quiet], 1)
    add_conversations(logged_in.id, [busy], 1000)
    one = statements_for(client, f"/messages/author{quiet}")
    page = page_text(client.get(f"/messages/author{busy}"))
    assert page.count('<li class="message ') == PER_PAGE
    many_first = statements_for(client, f"/messages/author{busy}")
    many_last = statements_for(client, f"/messages/author{busy}?page={1000 // PER_PAGE}")
    earlier = link_to(page, "Earlier messages")
    assert "after=" in earlier
    many_earlier = statements_for(client, earlier)

    # The user, the person with the viewer's side of the conversation, the page.
    assert len(one) == len(many_first) == len(many_last) == len(many_earlier) <= 3, many_last


def test_reading_an_unread_conversation_costs_a_fixed_few_statements_more(client, logged_in):
    [quiet, busy] = add_authors_with_posts(authors=2, posts_each=0)
    add_conversations(logged_in.id, [quiet], 1)
    add_conversations(logged_in.id, [busy], 1000)
    client.get("/index")  # settles the throttled last_seen write
    with sql_statements() as one:
        client.get(f"/messages/author{quiet}")
    with sql_statements() as many:
        client.get(f"/messages/author{busy}")
    # The three reads, the read mark and its notification's, the counts read again, and
    # the user, whom the commit of the marks expired.
    assert len(one) == len(many) <= 7, many
    assert len([s for s in many if starts_with(s, "UPDATE")]) == 2


def test_the_notifications_page_costs_the_same_for_few_or_many(client, logged_in):
    from app.models import Notification

    def add_notifications(count: int) -> None:
        actors = add_authors_with_posts(authors=count, posts_each=0)
        rows = [
            {"user_id": logged_in.id, "actor_id": actor, "kind": "follow", "created_at": utcnow()}
            for actor in actors
        ]
        db.session.execute(insert(Notification), rows)
        db.session.commit()

    add_notifications(2)
    few = statements_for(client, "/notifications")
    add_notifications(300)
    page = page_text(client.get("/notifications"))
    assert page.count('class="list-group-item') == PER_PAGE
    many_first = statements_for(client, "/notifications")
    older = re.search(r'href="([^"]*)">Older', page).group(1).replace("&amp;", "&")
    many_older = statements_for(client, older)
    # (A page's first view marks what it shows read: one statement, and the counts again.)
    assert len(few) == len(many_first) == len(many_older) <= 2, many_older


def test_a_hover_card_costs_two_statements_whatever_the_counts(client, logged_in):
    [quiet, popular] = add_authors_with_posts(authors=2, posts_each=3)
    add_follows(add_authors_with_posts(authors=60, posts_each=0), [popular])
    quiet_card = statements_for(client, f"/user/author{quiet}/card")
    popular_card = statements_for(client, f"/user/author{popular}/card")
    # The user, the person with their counts and the viewer's follow and block.
    assert len(quiet_card) == len(popular_card) <= 2, popular_card


def test_the_poll_costs_one_statement_whatever_is_unread(client, logged_in):
    quiet = statements_for(client, "/notifications/unread")
    add_conversations(logged_in.id, add_authors_with_posts(authors=150, posts_each=0), 1)
    busy = statements_for(client, "/notifications/unread?since=0.0")
    assert client.get("/notifications/unread").get_json()["messages"] == 100
    assert len(quiet) == len(busy) == 1, busy


# --- The API's messages, notifications and counts --------------------------------------------


def test_the_apis_conversations_cost_the_same_for_one_or_500(client, alice):
    token = bearer(obtain_token(client))
    add_conversations(alice.id, add_authors_with_posts(authors=1, posts_each=0), 1)
    one = statements_for(client, "/api/v1/messages", headers=token)
    add_conversations(alice.id, add_authors_with_posts(authors=500, posts_each=0), 1)
    first = client.get("/api/v1/messages", headers=token).get_json()
    assert len(first["items"]) == PER_PAGE
    many_first = statements_for(client, "/api/v1/messages", headers=token)
    many_next = statements_for(client, first["next"], headers=token)
    # The token with its user, the page of conversations.
    assert len(one) == len(many_first) == len(many_next) <= 2, many_next


def test_the_apis_conversation_costs_the_same_for_one_message_or_1000(client, alice):
    token = bearer(obtain_token(client))
    [quiet, busy] = add_authors_with_posts(authors=2, posts_each=0)
    add_conversations(alice.id, [quiet], 1)
    add_conversations(alice.id, [busy], 1000)
    one = statements_for(client, f"/api/v1/messages/author{quiet}", headers=token)
    first = client.get(f"/api/v1/messages/author{busy}", headers=token).get_json()
    many_first = statements_for(client, f"/api/v1/messages/author{busy}", headers=token)
    many_next = statements_for(client, first["next"], headers=token)
    # The token with its user, the person with alice's side of the conversation, the page.
    assert len(one) == len(many_first) == len(many_next) <= 3, many_next


def test_reading_or_sending_through_the_api_costs_a_fixed_few_statements(client, alice):
    token = bearer(obtain_token(client))
    [quiet, busy] = add_authors_with_posts(authors=2, posts_each=0)
    add_conversations(alice.id, [quiet], 1)
    add_conversations(alice.id, [busy], 1000)
    client.get("/api/v1/me", headers=token)  # settles the throttled last_used_at write
    costs = {}
    for author in (quiet, busy):
        with sql_statements() as read:
            client.get(f"/api/v1/messages/author{author}", headers=token)
        with sql_statements() as sent:
            answer = client.post(
                f"/api/v1/messages/author{author}", headers=token, json={"body": "Hi"}
            )
            assert answer.status_code == 201
        costs[author] = (read, sent)
    (quiet_read, quiet_sent), (busy_read, busy_sent) = costs[quiet], costs[busy]
    # Reading an unread one: the three reads, the read mark and its notification's.
    assert len(quiet_read) == len(busy_read) <= 5, busy_read
    assert len([s for s in busy_read if starts_with(s, "UPDATE")]) == 2
    # Sending: the token, the person, the message, both sides, the notification, the
    # message read back for the answer.
    assert len(quiet_sent) == len(busy_sent) <= 6, busy_sent


def test_the_apis_notifications_and_counts_cost_the_same_for_few_or_many(client, alice):
    from app.models import Notification

    token = bearer(obtain_token(client))

    def add_notifications(count: int) -> None:
        actors = add_authors_with_posts(authors=count, posts_each=0)
        rows = [
            {"user_id": alice.id, "actor_id": actor, "kind": "follow", "created_at": utcnow()}
            for actor in actors
        ]
        db.session.execute(insert(Notification), rows)
        db.session.commit()

    add_notifications(2)
    few = statements_for(client, "/api/v1/notifications", headers=token)
    few_counts = statements_for(client, "/api/v1/me/unread", headers=token)
    add_notifications(300)
    add_conversations(alice.id, add_authors_with_posts(authors=150, posts_each=0), 1)
    first = client.get("/api/v1/notifications", headers=token).get_json()
    many_first = statements_for(client, "/api/v1/notifications", headers=token)
    many_next = statements_for(client, first["next"], headers=token)
    many_counts = statements_for(client, "/api/v1/me/unread", headers=token)
    assert client.get("/api/v1/me/unread", headers=token).get_json()["messages"] == 100
    with sql_statements() as marked:
        answer = client.post(
            "/api/v1/notifications/read", headers=token, json={"up_to": first["items"][0]["id"]}
        )
    assert answer.get_json()["notifications"] == 0
    # The token with its user, then the page or the counts; marking read: one UPDATE and
    # the counts.
    assert len(few) == len(many_first) == len(many_next) <= 2, many_next
    assert len(few_counts) == len(many_counts) <= 2, many_counts
    assert len(marked) <= 3, marked
