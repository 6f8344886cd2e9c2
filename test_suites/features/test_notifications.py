"""Notifications: who is told of what (follows, replies, mentions, messages), the
Notifications page and what it marks read, the navigation bar's counts, and the poll
that keeps them current: its protocol, its odd inputs, and its fast path."""

import re
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa
from flask import template_rendered

from app.auth.sessions import LoginSession
from app.database import utcnow
from app.extensions import db
from app.models import Notification, Post, User
from app.notifications import poll
from config import Config, ConfigError
from testkit.clients import (
    Auth,
    assert_security_headers,
    csrf_token,
    follow,
    make_user,
    page_text,
    run_together,
    send_message,
    signed_in,
    submit,
    tabs_of_one_person,
    unfollow,
    unread_counts,
)
from testkit.databases import PostgresDatabase
from testkit.statements import sql_statements


def told() -> list[tuple[str, str, str]]:
    """Every notification kept: (who is told, who did it, what), oldest first."""
    told_user, actor = User.__table__.alias("told"), User.__table__.alias("actor")
    rows = db.session.execute(
        sa.select(told_user.c.username, actor.c.username, Notification.kind)
        .join_from(Notification, told_user, told_user.c.id == Notification.user_id)
        .join(actor, actor.c.id == Notification.actor_id)
        .order_by(Notification.id)
    )
    return [tuple(row) for row in rows]


def write(client, body: str, path: str = "/index") -> int:
    """Write a post (a reply, with the path of a post's page); the new post's id."""
    response = submit(client, path, {"body": body})
    assert response.status_code == 302, page_text(response)
    return db.session.scalar(sa.select(sa.func.max(Post.id)))


def listed(response) -> list[tuple[bool, str]]:
    """The notifications a page lists, in order: (new, their sentence's words)."""
    items = re.findall(
        r'<li class="list-group-item[^"]*">.*?<p class="mb-1">(.*?)<small',
        page_text(response),
        re.S,
    )
    sentences = [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]
    return [(sentence.startswith("New "), sentence.removeprefix("New ")) for sentence in sentences]


@pytest.fixture
def bob(app):
    return signed_in(app, "bob")


# --- Who is told of what ------------------------------------------------------------------


def test_following_someone_tells_them_once_however_often_it_is_clicked(client, logged_in, bob):
    follow(bob, "alice")
    unfollow(bob, "alice")
    follow(bob, "alice")
    assert told() == [("alice", "bob", "follow")]
    assert listed(client.get("/notifications")) == [(True, "bob followed you.")]
    # Read, then followed again: that is news again.
    unfollow(bob, "alice")
    follow(bob, "alice")
    assert listed(client.get("/notifications")) == [
        (True, "bob followed you."),
        (False, "bob followed you."),
    ]


def test_a_reply_tells_the_author_of_the_post_and_links_to_the_reply(client, logged_in, bob):
    question = write(client, "Anyone for tea?")
    reply = write(bob, "Yes please", f"/post/{question}")
    write(client, "Milk?", f"/post/{question}")  # answering yourself tells nobody
    assert told() == [("alice", "bob", "reply")]
    page = client.get("/notifications")
    assert listed(page) == [(True, "bob replied to your post .")]
    assert f'<a href="/post/{reply}">replied to your post</a>' in page_text(page)
    assert "Yes please" in page_text(page)


def test_naming_people_tells_each_real_one_once_and_nobody_else(client, logged_in, bob):
    make_user("carol")
    write(bob, "@alice @carol @alice @nobody and @bob, meet!")
    assert sorted(told()) == [("alice", "bob", "mention"), ("carol", "bob", "mention")]
    assert listed(client.get("/notifications")) == [(True, "bob mentioned you .")]


def test_answering_someone_who_is_named_too_tells_them_once_of_the_reply(client, logged_in, bob):
    question = write(client, "Ideas?")
    write(bob, "@alice here is one", f"/post/{question}")
    assert told() == [("alice", "bob", "reply")]


def test_a_message_tells_its_recipient_once_until_read(client, logged_in, bob):
    for text in ("one", "two", "three"):
        send_message(bob, "alice", text)
    assert told() == [("alice", "bob", "message")]
    page = client.get("/notifications")
    assert listed(page) == [(True, "bob sent you a message .")]
    assert '<a href="/messages/bob">sent you a message</a>' in page_text(page)


def test_reading_the_conversation_reads_its_notification(client, logged_in, bob):
    send_message(bob, "alice", "Read me")
    assert unread_counts(client)["notifications"] == 1
    client.get("/messages/bob")
    assert unread_counts(client)["notifications"] == 0
    assert listed(client.get("/notifications")) == [(False, "bob sent you a message .")]


def test_a_deleted_post_takes_its_notifications_with_it(client, logged_in, bob):
    post_id = write(bob, "Hello @alice")
    assert unread_counts(client)["notifications"] == 1
    edit_page = page_text(bob.get(f"/post/{post_id}/delete"))
    version = re.search(r'name="version" value="(\d+)"', edit_page).group(1)
    assert submit(bob, f"/post/{post_id}/delete", {"version": version}).status_code == 302
    assert told() == []
    assert unread_counts(client)["notifications"] == 0


# --- The Notifications page: newest first, read when shown ------------------------------


@pytest.mark.both_databases
def test_the_page_marks_read_what_it_shows_and_older_ones_wait_for_their_page(client, logged_in):
    for number in range(5):  # 3 a page in the tests
        follow(signed_in(client.application, f"fan{number}"), "alice")
    assert unread_counts(client)["notifications"] == 5
    first = client.get("/notifications")
    assert listed(first) == [(True, f"fan{n} followed you.") for n in (4, 3, 2)]
    assert unread_counts(client)["notifications"] == 2
    assert 'data-unread-state="0.2"' in page_text(first)  # its own bar counts after reading
    older = re.search(r'href="([^"]*)">Older', page_text(first)).group(1).replace("&amp;", "&")
    assert listed(client.get(older)) == [(True, f"fan{n} followed you.") for n in (1, 0)]
    assert unread_counts(client)["notifications"] == 0
    assert all(not new for new, _ in listed(client.get("/notifications")))


def test_an_empty_notifications_page_says_what_will_be_there(client, logged_in):
    response = client.get("/notifications")
    assert response.status_code == 200
    assert "Nothing yet." in page_text(response)
    assert client.get("/notifications?page=2").status_code == 404


def test_visitors_without_an_account_are_sent_to_log_in(client, alice):
    response = client.get("/notifications")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.both_databases
def test_reading_while_new_ones_arrive_never_loses_one(file_app):
    """8 tabs of alice read the page while 8 others follow her: afterwards the count is
    exactly the notifications not yet shown."""
    with file_app.app_context():
        make_user("alice")
        for number in range(8):
            make_user(f"fan{number}")
    readers, _ = tabs_of_one_person(file_app, 8, "/index")
    fans = [tabs_of_one_person(file_app, 1, "/user/alice", f"fan{n}") for n in range(8)]

    def act(index: int) -> int:
        if index % 2:
            return readers[index // 2].get("/notifications").status_code
        client, token = fans[index // 2]
        return client[0].post("/follow/alice", data={"csrf_token": token}).status_code

    statuses = run_together(16, act)
    assert set(statuses) <= {200, 302}
    with file_app.app_context():
        unread = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.read_at.is_(None))
        )
        assert len(told()) == 8
    assert unread_counts(readers[0])["notifications"] == unread


# --- The navigation bar's counts -------------------------------------------------------


def test_the_navigation_bar_shows_each_count_with_its_name_for_screen_readers(
    client, logged_in, bob
):
    follow(bob, "alice")
    page = page_text(client.get("/explore"))
    badge = re.search(
        r'<a class="nav-link nav-counted" href="/notifications" title="Notifications">.*?</a>',
        page,
        re.S,
    ).group(0)
    assert '<span class="visually-hidden">Notifications</span>' in badge
    assert '<span data-unread-count>1</span><span class="visually-hidden"> unread</span>' in badge
    assert re.search(r'data-unread="messages" hidden>', page)
    # Written once, shown beside the phone's menu button or beside Log out.
    assert page.count('href="/notifications" title="Notifications"') == 2
    assert '<ul class="navbar-nav flex-row ms-auto me-2 d-sm-none">' in page
    assert 'data-unread-url="/notifications/unread"' in page
    assert 'data-unread-seconds="30"' in page
    assert '<script src="/static/unread-counts.js" defer></script>' in page


def test_visitors_see_no_counts_and_load_no_poll(client, alice):
    page = page_text(client.get("/explore"))
    assert "data-unread" not in page
    assert "unread-counts.js" not in page and "hover-cards.js" not in page


@pytest.mark.parametrize("app_settings", [{"UNREAD_POLL_SECONDS": 5}])
def test_how_often_pages_ask_is_a_setting(client, logged_in):
    assert 'data-unread-seconds="5"' in page_text(client.get("/index"))


@pytest.mark.both_databases
def test_counts_stop_at_99_plus_and_cost_no_more_beyond(client, logged_in):
    fans = [{"username": f"fan{n}", "email": f"fan{n}@example.com"} for n in range(120)]
    db.session.execute(sa.insert(User), fans)
    ids = db.session.scalars(sa.select(User.id).where(User.username.like("fan%"))).all()
    rows = [
        {"user_id": logged_in.id, "actor_id": fan, "kind": "follow", "created_at": utcnow()}
        for fan in ids
    ]
    db.session.execute(sa.insert(Notification), rows)
    db.session.commit()
    assert unread_counts(client)["notifications"] == 100
    assert "<span data-unread-count>99+</span>" in page_text(client.get("/index"))


# --- The poll --------------------------------------------------------------------------


@pytest.mark.both_databases
def test_the_poll_answers_the_counts_then_304_until_they_change(client, logged_in, bob):
    first = client.get("/notifications/unread")
    assert first.status_code == 200
    assert first.get_json() == {"messages": 0, "notifications": 0, "state": "0.0"}
    assert first.headers["ETag"] == '"0.0"'
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert first.mimetype == "application/json"
    assert_security_headers(first)
    for unchanged in (
        client.get("/notifications/unread?since=0.0"),
        client.get("/notifications/unread", headers={"If-None-Match": '"0.0"'}),
    ):
        assert unchanged.status_code == 304
        assert unchanged.get_data() == b""
        assert unchanged.headers["ETag"] == '"0.0"'
        assert_security_headers(unchanged)
    send_message(bob, "alice", "news")
    changed = client.get("/notifications/unread?since=0.0")
    assert changed.status_code == 200
    assert changed.get_json() == {"messages": 1, "notifications": 1, "state": "1.1"}
    assert client.get("/notifications/unread?since=1.1").status_code == 304


@pytest.mark.parametrize(
    "query",
    [
        "since=",
        "since=abc",
        "since=-1",
        "since=1.2.3",
        "since=99999999999999999999",
        "since=1e9999",
        "since=0.0&since=1.1",
        "since=1.1&since=0.0",
        "since[]=0.0",
        "since=%EF%BC%90.%EF%BC%90",  # full-width digits
        "since=%F0%9F%92%A9",
        "since=" + "9" * 5000,
        "since=0.0%0A",
        "page=2",
        "since",
        "&&&",
    ],
)
def test_odd_since_values_get_the_full_answer_never_a_failure(client, logged_in, query):
    response = client.get(f"/notifications/unread?{query}")
    if response.status_code == 304:
        # Only a query whose since is the current state.
        assert query.startswith("since=0.0&")
    else:
        assert response.status_code == 200
        assert response.get_json() == {"messages": 0, "notifications": 0, "state": "0.0"}


def test_a_nul_in_the_query_is_refused_as_on_every_page(client, logged_in):
    assert client.get("/notifications/unread?since=0.0%00").status_code == 400


def test_the_poll_of_a_visitor_is_an_empty_401(client, alice):
    response = client.get("/notifications/unread?since=0.0")
    assert response.status_code == 401
    assert response.get_data() == b""
    assert_security_headers(response)


def test_the_poll_renders_no_template_and_costs_one_statement(client, logged_in, bob):
    rendered = []

    def record(sender, template, context, **extra) -> None:
        rendered.append(template.name)

    template_rendered.connect(record, client.application)
    try:
        for query in ("", "?since=0.0", "?since=0.0&x=1", "?since=odd"):
            with sql_statements() as statements:
                assert client.get(f"/notifications/unread{query}").status_code in (200, 304)
            # One statement, the login with its counts; through the view, the user's.
            assert len(statements) == 1, statements
    finally:
        template_rendered.disconnect(record, client.application)
    assert rendered == []


@pytest.mark.both_databases
def test_the_fast_path_answers_exactly_as_the_view_does(client, logged_in, bob):
    """The poll's common case is answered before Flask (app.notifications.poll); a query
    of any other shape reaches the view. Both must say the same."""
    send_message(bob, "alice", "news")

    def answer(path: str, **kwargs) -> tuple:
        response = client.get(path, **kwargs)
        headers = {k: v for k, v in response.headers.items() if k != "X-Request-ID"}
        return response.status_code, headers, response.get_data()

    with sql_statements() as fast:
        fast_answers = [
            answer("/notifications/unread"),
            answer("/notifications/unread?since=1.1"),
            answer("/notifications/unread?since=0.0"),
            answer("/notifications/unread", headers={"If-None-Match": '"1.1"'}),
        ]
    with sql_statements() as slow:
        view_answers = [
            answer("/notifications/unread?x"),
            answer("/notifications/unread?since=1.1&x"),
            answer("/notifications/unread?since=0.0&x"),
            answer("/notifications/unread?x", headers={"If-None-Match": '"1.1"'}),
        ]
    assert fast_answers == view_answers
    # The fast path reads the login with its counts; the view, Flask-Login's user (with
    # how many people they follow, which only the home page needs).
    assert len(fast) == len(slow) == 4
    assert not any("followers" in statement for statement in fast)
    assert all("followers" in statement for statement in slow)


def test_a_poll_is_not_a_visit_and_leaves_last_seen_alone(client, logged_in):
    logged_in.last_seen = utcnow() - timedelta(hours=2)
    db.session.commit()
    for query in ("", "?since=0.0", "?since=odd"):
        client.get(f"/notifications/unread{query}")
    db.session.expire_all()
    assert utcnow() - db.session.get(User, logged_in.id).last_seen > timedelta(hours=1)


def test_a_remember_cookie_alone_is_answered_by_the_view(client, alice, auth):
    auth.login(remember_me=True)
    client.delete_cookie("session")
    response = client.get("/notifications/unread?since=9.9")
    assert response.status_code == 200
    assert response.get_json()["state"] == "0.0"


@pytest.mark.parametrize("ending", ["log out", "expire", "new password elsewhere"])
def test_a_login_that_ended_gets_401_from_either_path(app, alice, ending):
    browser = app.test_client()
    Auth(browser).login()
    cookie = browser.get_cookie("session").value
    if ending == "log out":
        Auth(browser).logout()
    elif ending == "expire":
        db.session.execute(sa.update(LoginSession).values(expires_at=utcnow()))
        db.session.commit()
    else:
        alice.set_password("an entirely new passphrase")
        db.session.commit()
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    for query in ("?since=0.0", "?since=0.0&x"):
        assert replay.get(f"/notifications/unread{query}").status_code == 401


@pytest.mark.parametrize(
    "cookie",
    ["", "x" * 4000, "e30.abc.def", ".eJyrVipKLS5WslIqSS0uUaoFADEOBcQ.forged.signature"],
)
def test_a_cookie_that_does_not_verify_signs_nobody_in(app, alice, cookie):
    browser = app.test_client()
    browser.set_cookie("session", cookie)
    assert browser.get("/notifications/unread?since=0.0").status_code == 401


def test_a_database_error_on_the_fast_path_leaves_the_answer_to_the_view(
    client, logged_in, tmp_path
):
    middleware = client.application.wsgi_app
    assert isinstance(middleware, poll.UnreadCountsPoll)
    working = middleware.engine
    # A database the fast path cannot open: its query fails, and the view answers.
    middleware.engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'none.db'}")
    try:
        response = client.get("/notifications/unread?since=9.9")
    finally:
        middleware.engine.dispose()
        middleware.engine = working
    assert response.status_code == 200
    assert response.get_json()["state"] == "0.0"


def test_a_connection_the_server_dropped_is_replaced_and_every_poll_is_answered(
    make_app, postgres_database_url
):
    """On PostgreSQL each thread holds the fast path's connection: dropped by the server
    (a restart, a failover), it fails one poll, which the view answers, and the next
    poll opens a new one."""
    app = make_app(database=PostgresDatabase(postgres_database_url))
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    assert Auth(client).login().status_code == 302
    held = app.wsgi_app.held
    assert client.get("/notifications/unread?since=0.0").status_code == 304
    dropped = held.of_thread.connection
    with psycopg.connect(postgres_database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped.info.backend_pid])
    with app.app_context(), sql_statements() as by_the_view:
        assert client.get("/notifications/unread?since=0.0").status_code == 304
    # The fast path's statement failed; the view read Flask-Login's user.
    assert dropped.closed
    assert any("followers" in statement for statement in by_the_view)
    with app.app_context(), sql_statements() as by_the_fast_path:
        assert client.get("/notifications/unread?since=0.0").status_code == 304
        assert client.get("/notifications/unread").get_json()["state"] == "0.0"
    assert len(by_the_fast_path) == 2
    assert not any("followers" in statement for statement in by_the_fast_path)
    assert held.every_thread == {held.of_thread.connection}
    # Disposing of the app's engine closes the held connection too.
    replacement = held.of_thread.connection
    with app.app_context():
        db.engine.dispose()
    assert replacement.closed
    assert held.every_thread == set()
    assert client.get("/notifications/unread?since=0.0").status_code == 304


def test_a_postgresql_server_out_of_reach_leaves_the_answer_to_the_view(
    make_app, postgres_database_url
):
    app = make_app(database=PostgresDatabase(postgres_database_url))
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    assert Auth(client).login().status_code == 302
    middleware = app.wsgi_app
    working = middleware.held
    # A server the fast path cannot reach (nothing listens on port 1): the view answers.
    unreachable = sa.create_engine("postgresql+psycopg://nobody:none@127.0.0.1:1/none")
    middleware.held = poll.HeldConnections(unreachable)
    try:
        response = client.get("/notifications/unread?since=9.9")
    finally:
        unreachable.dispose()
        middleware.held = working
    assert response.status_code == 200
    assert response.get_json()["state"] == "0.0"


def test_a_cookie_verified_once_is_checked_for_its_age_every_time(client, logged_in):
    middleware = client.application.wsgi_app
    assert client.get("/notifications/unread?since=0.0").status_code == 304
    cookie = client.get_cookie("session").value
    key, signed_at = middleware.verified(cookie)
    assert isinstance(key, str)
    environ = {"HTTP_COOKIE": f"session={cookie}"}
    assert middleware.login_key(environ) == key
    middleware.max_age = 0  # as though the cookie were older than the session lifetime
    assert middleware.login_key(environ) is None
    # Not answered by the fast path then; the view decides, with Flask's own check.
    assert client.get("/notifications/unread?since=0.0").status_code == 304


def test_other_methods_are_not_the_poll(client, logged_in):
    token = csrf_token(client, "/index")
    assert client.post("/notifications/unread", data={"csrf_token": token}).status_code == 405
    assert client.head("/notifications/unread?since=0.0").status_code == 304


def test_how_often_pages_ask_is_read_from_the_environment_strictly(make_app, monkeypatch):
    monkeypatch.setenv("UNREAD_POLL_SECONDS", "12")
    assert make_app(Config, TESTING=True).config["UNREAD_POLL_SECONDS"] == 12
    for raw, message in (("0", "must be 1 or more"), ("soon", "is not a whole number")):
        monkeypatch.setenv("UNREAD_POLL_SECONDS", raw)
        with pytest.raises(ConfigError, match=f"UNREAD_POLL_SECONDS={raw!r} {message}"):
            make_app(Config, TESTING=True)
