"""Blocking: what a block ends and prevents (follows both ways, messages, notifications,
the blocked person's posts in one's feed), that the blocked person is not told, the
list of blocked people and unblocking, bad requests, and racing clicks."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Notification, Post, User, blocks, followers
from testkit.clients import (
    block,
    csrf_token,
    follow,
    make_user,
    page_text,
    post_bodies,
    run_together,
    send_message,
    signed_in,
    submit,
    tabs_of_one_person,
    unblock,
    unread_counts,
)


def block_rows() -> list[tuple[str, str]]:
    """Every (blocker, blocked) pair kept, by name."""
    blocker, blocked = User.__table__.alias("blocker"), User.__table__.alias("blocked")
    rows = db.session.execute(
        sa.select(blocker.c.username, blocked.c.username)
        .join_from(blocks, blocker, blocker.c.id == blocks.c.blocker_id)
        .join(blocked, blocked.c.id == blocks.c.blocked_id)
    )
    return sorted(tuple(row) for row in rows)


def follow_rows() -> list[tuple[str, str]]:
    """Every (follower, followed) pair kept, by name."""
    follower, followed = User.__table__.alias("follower"), User.__table__.alias("followed")
    rows = db.session.execute(
        sa.select(follower.c.username, followed.c.username)
        .join_from(followers, follower, follower.c.id == followers.c.follower_id)
        .join(followed, followed.c.id == followers.c.followed_id)
    )
    return sorted(tuple(row) for row in rows)


def without_tokens(page: str) -> str:
    """A page without what changes on every view: tokens, request ids, times."""
    page = re.sub(r'value="[^"]{20,}"', 'value=""', page)
    return re.sub(r"<time[^>]*>[^<]*</time>", "<time>", page)


@pytest.fixture
def bob(app):
    return signed_in(app, "bob")


# --- What a block does -------------------------------------------------------------------


@pytest.mark.both_databases
def test_a_block_ends_the_follows_between_the_two_both_ways(client, logged_in, bob):
    follow(client, "bob")
    follow(bob, "alice")
    make_user("carol").follow(logged_in)
    db.session.commit()
    response = block(client, "bob")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/bob"
    assert block_rows() == [("alice", "bob")]
    assert follow_rows() == [("carol", "alice")]  # everyone else's stay
    page = page_text(client.get("/user/bob"))
    assert "You have blocked bob. They can no longer follow you, message you or notify you" in page
    assert ">Unblock</button>" in page and ">Follow</button>" not in page
    assert "Send a message" not in page


@pytest.mark.both_databases
def test_someone_blocked_cannot_follow_and_is_told_only_that(client, logged_in, bob):
    block(client, "bob")
    response = follow(bob, "alice")
    assert response.status_code == 302
    page = page_text(bob.get("/user/alice"))
    assert "You cannot follow this user." in page
    assert "blocked" not in page.lower()
    assert follow_rows() == []
    assert unread_counts(client)["notifications"] == 0


def test_you_cannot_follow_someone_you_block_until_you_unblock_them(client, logged_in, bob):
    block(client, "bob")
    follow(client, "bob")
    assert "You have blocked bob: unblock them to follow them." in page_text(client.get("/index"))
    assert follow_rows() == []
    unblock(client, "bob")
    follow(client, "bob")
    assert follow_rows() == [("alice", "bob")]


def test_their_posts_leave_your_feed(client, logged_in, bob):
    follow(client, "bob")
    submit(bob, "/index", {"body": "Bob's news"})
    submit(client, "/index", {"body": "Alice's own"})
    assert post_bodies(client.get("/index")) == ["Alice's own", "Bob's news"]
    block(client, "bob")
    assert post_bodies(client.get("/index")) == ["Alice's own"]
    # Explore still shows everyone's: a block is about what reaches you.
    assert "Bob's news" in post_bodies(client.get("/explore"))


def test_they_cannot_message_you(client, logged_in, bob):
    block(client, "bob")
    response = send_message(bob, "alice", "Please?")
    assert response.status_code == 200
    assert "You cannot message this user." in page_text(response)
    assert unread_counts(client)["messages"] == 0


@pytest.mark.both_databases
def test_their_replies_and_mentions_notify_you_no_more_and_what_they_sent_goes(
    client, logged_in, bob
):
    submit(bob, "/index", {"body": "Hi @alice"})
    assert unread_counts(client)["notifications"] == 1
    block(client, "bob")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    submit(client, "/index", {"body": "My own post"})
    own = db.session.scalar(sa.select(sa.func.max(Post.id)))
    submit(bob, "/index", {"body": "Still @alice"})
    submit(bob, f"/post/{own}", {"body": "A reply to alice"})
    assert unread_counts(client)["notifications"] == 0
    # Someone else, naming and answering her, still does.
    carol = signed_in(client.application, "carol")
    submit(carol, f"/post/{own}", {"body": "Carol answers @alice"})
    assert unread_counts(client)["notifications"] == 1


def test_a_block_is_invisible_to_the_one_blocked(client, logged_in, bob):
    """Bob sees alice's profile, its hover card and their conversation page as before."""
    pages = ("/user/alice", "/user/alice/card", "/messages/alice")
    before = [without_tokens(page_text(bob.get(path))) for path in pages]
    block(client, "bob")
    after = [without_tokens(page_text(bob.get(path))) for path in pages]
    assert after == before


# --- Unblocking, and the list of blocked people -------------------------------------------


def test_the_account_pages_list_the_people_you_block_and_unblock_them(client, logged_in):
    for name in ("erin", "Dave", "carol", "Alan"):
        make_user(name)
        block(client, name)
    make_user("zoe")
    settings = page_text(client.get("/edit_profile"))
    assert '<a href="/blocked">See and unblock the people you have blocked</a>' in settings
    first = page_text(client.get("/blocked"))
    assert re.findall(r'class="fw-semibold[^"]*" href="/user/([^"]+)"', first) == [
        "Alan",
        "carol",
        "Dave",
    ]  # by name, 3 a page in the tests
    assert '>Unblock<span class="visually-hidden"> Alan</span></button>' in first
    second = page_text(client.get("/blocked?page=2"))
    assert re.findall(r'class="fw-semibold[^"]*" href="/user/([^"]+)"', second) == ["erin"]

    form = {"csrf_token": csrf_token(client, "/blocked"), "next": "/blocked"}
    response = client.post("/unblock/carol", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/blocked"
    assert "You have unblocked carol." in page_text(client.get("/blocked"))
    assert [blocked for _, blocked in block_rows()] == ["Alan", "Dave", "erin"]


def test_unblocking_from_the_profile_goes_back_to_it_and_follows_stay_ended(
    client, logged_in, bob
):
    follow(client, "bob")
    block(client, "bob")
    response = unblock(client, "bob")
    assert response.headers["Location"] == "/user/bob"
    assert block_rows() == []
    assert follow_rows() == []
    assert ">Follow</button>" in page_text(client.get("/user/bob"))


def test_nobody_blocked_is_an_empty_list(client, logged_in):
    response = client.get("/blocked")
    assert response.status_code == 200
    assert "You have not blocked anyone." in page_text(response)
    assert client.get("/blocked?page=2").status_code == 404


def test_an_unsafe_next_goes_to_the_profile_instead(client, logged_in, bob):
    for target in ("//evil.example", "https://evil.example/", "/\\evil"):
        block(client, "bob")
        form = {"csrf_token": csrf_token(client, "/blocked"), "next": target}
        response = client.post("/unblock/bob", data=form)
        assert response.headers["Location"] == "/user/bob", target


# --- Bad requests -----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["block", "unblock"])
def test_blocking_yourself_is_refused_with_a_message(client, logged_in, action):
    response = submit(client, f"/{action}/ALICE", {}, form_page="/user/alice")
    assert response.status_code == 302
    assert f"You cannot {action} yourself." in page_text(client.get("/user/alice"))
    assert block_rows() == []


@pytest.mark.parametrize("action", ["block", "unblock"])
def test_blocking_someone_unknown_is_the_404_page(client, logged_in, action):
    assert submit(client, f"/{action}/nobody", {}, form_page="/index").status_code == 404
    assert block_rows() == []


@pytest.mark.parametrize("action", ["block", "unblock"])
def test_blocks_need_the_csrf_token_a_post_and_an_account(client, alice, action):
    make_user("bob")
    if action == "unblock":
        alice.block(User.by_username("bob"))
        db.session.commit()
    before = block_rows()
    assert client.post(f"/{action}/bob").status_code == 400  # no token
    assert client.get(f"/{action}/bob").status_code == 405
    response = client.post(f"/{action}/bob", data={"csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"].startswith("/login?next=")
    assert block_rows() == before


def test_unblocking_someone_not_blocked_changes_nothing(client, logged_in, bob):
    assert unblock(client, "bob").status_code == 302
    assert block_rows() == []


# --- One row per pair, whatever races ---------------------------------------------------


@pytest.mark.both_databases
def test_the_database_itself_refuses_a_second_block_of_a_pair(alice):
    bob = make_user("bob")
    pair = {"blocker_id": alice.id, "blocked_id": bob.id}
    db.session.execute(sa.insert(blocks).values(pair))
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(blocks).values(pair))
        db.session.commit()
    db.session.rollback()
    assert alice.block(bob) is False  # the model's own insert does nothing instead
    db.session.commit()
    assert block_rows() == [("alice", "bob")]


def test_blocking_yourself_is_a_value_error_and_stores_nothing(alice):
    with pytest.raises(ValueError, match="block themselves"):
        alice.block(alice)
    db.session.commit()
    assert block_rows() == []


@pytest.mark.both_databases
def test_a_double_click_on_block_keeps_one_row(client, logged_in, bob):
    form = {"csrf_token": csrf_token(client, "/user/bob")}
    first, second = client.post("/block/bob", data=form), client.post("/block/bob", data=form)
    assert first.status_code == second.status_code == 302
    assert block_rows() == [("alice", "bob")]


@pytest.mark.both_databases
def test_blocks_and_follows_racing_never_leave_a_follow_beside_a_block(file_app):
    """alice blocks bob in 8 tabs while bob follows her in 8 of his: whatever the order,
    the block ends every follow it finds and no follow is made after it."""
    with file_app.app_context():
        make_user("alice")
        make_user("bob")
    alice_tabs, alice_token = tabs_of_one_person(file_app, 8, "/user/bob", "alice")
    bob_tabs, bob_token = tabs_of_one_person(file_app, 8, "/user/alice", "bob")

    def click(index: int) -> int:
        if index % 2:
            tab, path, token = alice_tabs[index // 2], "/block/bob", alice_token
        else:
            tab, path, token = bob_tabs[index // 2], "/follow/alice", bob_token
        return tab.post(path, data={"csrf_token": token}).status_code

    assert run_together(16, click) == [302] * 16
    with file_app.app_context():
        assert block_rows() == [("alice", "bob")]
        assert follow_rows() == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
