"""Followers: the model's follow API, the Follow / Unfollow buttons, the lists of people,
racing clicks, and the migration that adds the table."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.database import utcnow
from app.extensions import db
from app.main.queries import WALK_FEED_FROM
from app.models import Post, User, followers
from testkit.clients import (
    csrf_token,
    follow,
    make_user,
    page_text,
    post_bodies,
    run_together,
    submit,
    tabs_of_one_person,
    unfollow,
)


def follow_rows() -> list[tuple[int, int]]:
    """Every (follower id, followed id) pair stored."""
    rows = db.session.execute(sa.select(followers.c.follower_id, followers.c.followed_id))
    return sorted(tuple(row) for row in rows)


@pytest.fixture
def bob(app) -> User:
    return make_user("bob")


@pytest.fixture
def carol(app) -> User:
    return make_user("carol")


# --- The model --------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_follow_adds_one_row_that_the_caller_commits(alice, bob):
    assert alice.follow(bob) is True
    db.session.commit()
    assert follow_rows() == [(alice.id, bob.id)]  # following is one-way


@pytest.mark.both_databases
def test_follow_is_not_committed_by_the_model(alice, bob):
    alice.follow(bob)
    db.session.rollback()
    assert follow_rows() == []


@pytest.mark.both_databases
def test_following_twice_keeps_one_row(alice, bob):
    assert alice.follow(bob) is True
    db.session.commit()
    assert alice.follow(bob) is False
    db.session.commit()
    assert follow_rows() == [(alice.id, bob.id)]


@pytest.mark.both_databases
def test_the_database_itself_refuses_a_second_row_for_a_pair(alice, bob):
    pair = {"follower_id": alice.id, "followed_id": bob.id}
    db.session.execute(sa.insert(followers).values(pair))
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(followers).values(pair))
        db.session.commit()
    db.session.rollback()
    assert follow_rows() == [(alice.id, bob.id)]


def test_following_yourself_is_a_value_error_and_stores_nothing(alice):
    with pytest.raises(ValueError, match="follow themselves"):
        alice.follow(alice)
    db.session.commit()
    assert follow_rows() == []


@pytest.mark.both_databases
def test_unfollow_removes_the_row_and_says_whether_there_was_one(alice, bob):
    alice.follow(bob)
    bob.follow(alice)
    db.session.commit()
    assert alice.unfollow(bob) is True
    db.session.commit()
    assert follow_rows() == [(bob.id, alice.id)]  # the other direction stays
    assert alice.unfollow(bob) is False
    db.session.commit()


@pytest.mark.both_databases
def test_following_count_is_loaded_on_demand_and_counts_one_direction(alice, bob, carol):
    alice.follow(bob)
    alice.follow(carol)
    carol.follow(alice)
    db.session.commit()
    db.session.expire_all()
    assert (alice.following_count, bob.following_count, carol.following_count) == (2, 0, 1)


def profile_counts(client, username: str) -> tuple[int, int]:
    """What a profile page says: how many followers, how many followed."""
    page = page_text(client.get(f"/user/{username}"))
    followers_shown = re.search(r">(\d+) followers?</a>", page)
    following_shown = re.search(r">(\d+) following</a>", page)
    assert followers_shown and following_shown
    return int(followers_shown.group(1)), int(following_shown.group(1))


@pytest.mark.both_databases
def test_profiles_count_each_direction(client, logged_in, bob, carol):
    assert profile_counts(client, "alice") == (0, 0)
    logged_in.follow(bob)
    logged_in.follow(carol)
    carol.follow(logged_in)
    db.session.commit()
    assert profile_counts(client, "alice") == (1, 2)
    assert profile_counts(client, "bob") == (1, 0)
    assert profile_counts(client, "carol") == (1, 1)


@pytest.mark.parametrize("app_settings", [{"POSTS_PER_PAGE": 100}])
@pytest.mark.both_databases
def test_home_feed_breaks_timestamp_ties_newest_id_first(client, logged_in, bob):
    moment = utcnow()
    for body in ("first", "second", "third"):
        db.session.add(Post(body=body, author=bob, timestamp=moment))
    logged_in.follow(bob)
    db.session.commit()
    assert post_bodies(client.get("/index")) == ["third", "second", "first"]


@pytest.mark.parametrize("app_settings", [{"POSTS_PER_PAGE": 100}])
@pytest.mark.parametrize("count", [1, WALK_FEED_FROM - 1, WALK_FEED_FROM, WALK_FEED_FROM + 3])
@pytest.mark.both_databases
def test_the_feed_has_the_same_posts_however_the_database_reads_it(client, logged_in, count):
    # Below WALK_FEED_FROM follows the feed seeks each author's posts, from it on
    # it walks all posts: both must give exactly the followed people's and alice's.
    people = [make_user(f"person{n}") for n in range(WALK_FEED_FROM + 5)]
    start = utcnow() - timedelta(hours=1)
    posts = []
    for n, author in enumerate([logged_in, *people] * 2):
        body = f"{n} by {author.username}"
        db.session.add(Post(body=body, author=author, timestamp=start + timedelta(seconds=n)))
        posts.append((n, author.username, body))
    for person in people[:count]:
        logged_in.follow(person)
    db.session.commit()

    authors = {"alice", *(person.username for person in people[:count])}
    expected = [body for _, author, body in sorted(posts, reverse=True) if author in authors]
    assert post_bodies(client.get("/index")) == expected


@pytest.mark.both_databases
def test_deleting_a_user_deletes_their_follows_in_both_directions(alice, bob, carol):
    alice.follow(bob)
    bob.follow(alice)
    bob.follow(carol)
    carol.follow(alice)
    db.session.commit()
    bob_id = bob.id
    # A plain DELETE of the row: the database's ON DELETE CASCADE does the rest.
    db.session.execute(sa.delete(User).where(User.id == bob_id))
    db.session.commit()
    assert follow_rows() == [(carol.id, alice.id)]


# --- The profile: counts, links and the buttons ------------------------------------------------


def test_profile_shows_counts_that_link_to_the_lists(client, logged_in, bob, carol):
    logged_in.follow(bob)
    carol.follow(bob)
    bob.follow(carol)
    db.session.commit()
    page = page_text(client.get("/user/bob"))
    assert '<a href="/user/bob/followers">2 followers</a>' in page
    assert '<a href="/user/bob/following">1 following</a>' in page
    page = page_text(client.get("/user/alice"))
    assert '<a href="/user/alice/followers">0 followers</a>' in page
    assert '<a href="/user/alice/following">1 following</a>' in page
    page = page_text(client.get("/user/carol"))
    assert '<a href="/user/carol/followers">1 follower</a>' in page


def test_own_profile_has_no_follow_or_unfollow_button(client, logged_in):
    page = page_text(client.get("/user/alice"))
    assert "/follow/" not in page
    assert "/unfollow/" not in page
    assert ">Follow<" not in page and ">Unfollow<" not in page


def test_another_profile_offers_follow_then_unfollow_as_post_forms(client, logged_in, bob):
    page = page_text(client.get("/user/bob"))
    form = re.search(r'<form action="/follow/bob" method="post">(.*?)</form>', page, re.S)
    assert form, page
    assert 'name="csrf_token"' in form.group(1)
    assert ">Follow</button>" in form.group(1)
    assert "/unfollow/bob" not in page

    follow(client, "bob")
    page = page_text(client.get("/user/bob"))
    form = re.search(r'<form action="/unfollow/bob" method="post">(.*?)</form>', page, re.S)
    assert form, page
    assert 'name="csrf_token"' in form.group(1)
    assert ">Unfollow</button>" in form.group(1)
    assert 'action="/follow/bob"' not in page


# --- Follow and unfollow, as a person clicks them ------------------------------------------


def test_follow_stores_the_pair_and_goes_back_to_the_profile(client, logged_in, bob):
    response = follow(client, "bob")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/bob"
    assert follow_rows() == [(logged_in.id, bob.id)]
    page = page_text(client.get("/user/bob"))
    assert "You are following bob." in page
    assert ">1 follower</a>" in page


def test_unfollow_removes_the_pair_and_goes_back_to_the_profile(client, logged_in, bob):
    follow(client, "bob")
    client.get("/user/bob")  # shows (and so clears) the follow message
    response = unfollow(client, "bob")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/bob"
    assert follow_rows() == []
    page = page_text(client.get("/user/bob"))
    assert "You are no longer following bob." in page
    assert ">0 followers</a>" in page
    assert 'action="/follow/bob"' in page


@pytest.mark.both_databases
def test_a_double_click_on_follow_gives_the_same_answer_and_one_row(client, logged_in, bob):
    form = {"csrf_token": csrf_token(client, "/user/bob")}  # one page, two clicks
    first = client.post("/follow/bob", data=form)
    second = client.post("/follow/bob", data=form)
    assert (first.status_code, second.status_code) == (302, 302)
    assert first.headers["Location"] == second.headers["Location"] == "/user/bob"
    assert follow_rows() == [(logged_in.id, bob.id)]
    assert page_text(client.get("/user/bob")).count("You are following bob.") == 2


def test_unfollowing_someone_not_followed_changes_nothing(client, logged_in, bob):
    response = unfollow(client, "bob")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/bob"
    assert follow_rows() == []


def test_follow_finds_the_user_in_any_case_and_goes_to_their_profile(client, logged_in, bob):
    response = follow(client, "BOB")
    assert response.headers["Location"] == "/user/bob"
    assert follow_rows() == [(logged_in.id, bob.id)]


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_following_or_unfollowing_yourself_is_refused_with_a_message(client, logged_in, action):
    response = submit(client, f"/{action}/alice", {}, form_page="/user/alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/alice"
    assert follow_rows() == []
    page = page_text(client.get("/user/alice"))
    assert f"You cannot {action} yourself." in page
    assert ">0 followers</a>" in page


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_following_an_unknown_user_is_the_404_page(client, logged_in, action):
    response = submit(client, f"/{action}/nobody", {}, form_page="/index")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)
    assert follow_rows() == []


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_and_unfollow_without_the_csrf_token_are_refused(client, logged_in, bob, action):
    if action == "unfollow":
        follow(client, "bob")
    before = follow_rows()
    response = client.post(f"/{action}/bob")
    assert response.status_code == 400
    assert "The CSRF token is missing." in page_text(response)
    assert follow_rows() == before


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_get_never_follows_or_unfollows(client, logged_in, bob, action):
    if action == "unfollow":
        follow(client, "bob")
    before = follow_rows()
    token = csrf_token(client, "/user/bob")
    response = client.get(f"/{action}/bob", query_string={"csrf_token": token})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    assert follow_rows() == before


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_visitors_without_an_account_are_sent_to_login(client, alice, bob, action):
    bob.follow(alice)
    db.session.commit()
    before = follow_rows()
    token = csrf_token(client, "/login")  # a visitor's genuine token
    response = client.post(f"/{action}/bob", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert follow_rows() == before


# --- The lists of followers and of people followed -------------------------------------------


def people_on(page: str) -> list[str]:
    """The names the list of people links to, in order (none when there is no list)."""
    listed = re.search(r'<ul class="list-group[^"]*">(.*?)</ul>', page, re.S)
    return re.findall(r'href="/user/([^"?/]+)"', listed.group(1)) if listed else []


@pytest.mark.parametrize("direction", ["followers", "following"])
@pytest.mark.both_databases
def test_lists_of_people_are_by_name_in_any_case_and_paginated(client, logged_in, direction):
    people = [make_user(name) for name in ("erin", "Dave", "carol", "Alan")]
    for person in people:
        if direction == "followers":
            person.follow(logged_in)
        else:
            logged_in.follow(person)
    make_user("zoe").follow(make_user("yuri"))  # unrelated to alice
    db.session.commit()

    first = page_text(client.get(f"/user/alice/{direction}"))
    assert people_on(first) == ["Alan", "carol", "Dave"]  # 3 a page in the tests
    assert f'href="/user/alice/{direction}?page=2"' in first
    assert "?d=identicon&amp;s=48" in first  # their avatars
    assert 'href="/user/alice"' in first  # back to the profile
    second = page_text(client.get(f"/user/alice/{direction}?page=2"))
    assert people_on(second) == ["erin"]
    assert f'href="/user/alice/{direction}?page=1"' in second
    assert client.get(f"/user/alice/{direction}?page=3").status_code == 404


def test_the_lists_show_each_side_of_a_follow(client, logged_in):
    bob = make_user("bob")
    bob.follow(logged_in)
    db.session.commit()
    assert people_on(page_text(client.get("/user/alice/followers"))) == ["bob"]
    assert people_on(page_text(client.get("/user/alice/following"))) == []
    assert people_on(page_text(client.get("/user/bob/following"))) == ["alice"]
    assert people_on(page_text(client.get("/user/bob/followers"))) == []


@pytest.mark.parametrize("direction", ["followers", "following"])
def test_an_empty_list_is_a_page_and_its_second_page_is_404(client, logged_in, direction):
    response = client.get(f"/user/alice/{direction}")
    assert response.status_code == 200
    assert people_on(page_text(response)) == []
    assert client.get(f"/user/alice/{direction}?page=2").status_code == 404


@pytest.mark.parametrize("direction", ["followers", "following"])
def test_the_lists_of_an_unknown_user_are_404(client, logged_in, direction):
    response = client.get(f"/user/nobody/{direction}")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)


# --- Racing clicks ----------------------------------------------------------------------------


@pytest.mark.parametrize("clicks", ["follow-and-unfollow", "follow-only"])
@pytest.mark.both_databases
def test_racing_follows_and_unfollows_of_one_pair_never_fail(file_app, clicks):
    """16 requests at once for one pair: no 500, never a second row."""
    with file_app.app_context():
        make_user("alice")
        make_user("bob")
    clients, token = tabs_of_one_person(file_app, 16, "/user/bob")

    def click(index: int) -> int:
        action = "unfollow" if clicks == "follow-and-unfollow" and index % 2 else "follow"
        response = clients[index].post(f"/{action}/bob", data={"csrf_token": token})
        assert response.headers.get("Location") == "/user/bob", page_text(response)
        return response.status_code

    statuses = run_together(len(clients), click)

    assert statuses == [302] * 16
    with file_app.app_context():
        rows = follow_rows()
        alice, bob = User.by_username("alice"), User.by_username("bob")
        if clicks == "follow-only":
            assert rows == [(alice.id, bob.id)]
        else:
            assert rows in ([], [(alice.id, bob.id)])
    # The site still answers this session, with the outcome the database holds.
    page = page_text(clients[0].get("/user/bob"))
    assert f">{len(rows)} follower" in page


# --- Migration 0004 -------------------------------------------------------------------------


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


@pytest.mark.both_databases
def test_migration_0004_adds_followers_to_a_database_with_users_and_downgrades(
    make_app, empty_database_url
):
    from flask_migrate import downgrade, upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as connection:
            for name in ("alice", "bob", "carol"):
                connection.execute(
                    sa.text(
                        'INSERT INTO "user" (username, email, password_hash, session_token) '
                        "VALUES (:name, :email, 'x', :name)"
                    ),
                    {"name": name, "email": f"{name}@example.com"},
                )
        assert "followers" not in table_names()

        upgrade()

        inspector = sa.inspect(db.engine)
        assert "followers" in inspector.get_table_names()
        assert inspector.get_pk_constraint("followers")["constrained_columns"] == [
            "follower_id",
            "followed_id",
        ]
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("followers")}
        assert indexes["ix_followers_followed_id_follower_id"] == ["followed_id", "follower_id"]
        cascades = {
            fk["options"].get("ondelete") for fk in inspector.get_foreign_keys("followers")
        }
        assert cascades == {"CASCADE"}
        alice, bob, carol = (User.by_username(name) for name in ("alice", "bob", "carol"))
        alice.follow(bob)
        carol.follow(bob)
        db.session.commit()
        assert follow_rows() == sorted([(alice.id, bob.id), (carol.id, bob.id)])
        db.session.execute(sa.delete(User).where(User.id == carol.id))
        db.session.commit()
        assert follow_rows() == [(alice.id, bob.id)]
        db.session.remove()

        downgrade(revision="0003")

        assert "followers" not in table_names()
        with db.engine.connect() as connection:
            users = connection.execute(sa.text('SELECT username FROM "user"')).scalars()
            assert sorted(users) == ["alice", "bob"]
        db.engine.dispose()
