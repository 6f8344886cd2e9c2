"""Private messages: writing to someone from their profile, the Messages page, a
conversation page by page, what is refused (and never stored), the unread marks and
counts, a form sent twice or from many tabs at once, the rate limit, and migration 0012."""

import html
import re

import pytest
import sqlalchemy as sa

from app.database import utcnow
from app.extensions import db
from app.messages.conversations import mark_read
from app.messages.conversations import send_message as store_message
from app.models import Conversation, ConversationMember, Message, Notification, User, blocks
from config import Config, ConfigError
from testkit.bulk import add_authors_with_posts, add_conversations
from testkit.clients import (
    block,
    csrf_token,
    link_to,
    make_user,
    message_form,
    page_text,
    run_together,
    send_message,
    signed_in,
    tabs_of_one_person,
    unread_counts,
)
from testkit.statements import executed


def stored_messages() -> list[tuple[str, str]]:
    """Every message kept: (sender's name, text), oldest first."""
    rows = db.session.execute(
        sa.select(User.username, Message.body)
        .join_from(Message, User, Message.sender_id == User.id)
        .order_by(Message.id)
    )
    return [tuple(row) for row in rows]


def messages_shown(response) -> list[tuple[str, str]]:
    """The messages a conversation page shows, top to bottom: (who, text)."""
    page = page_text(response)
    found = re.findall(
        r'<li class="message [^"]*">\s*<div[^>]*><span class="fw-semibold">([^<]*)</span>.*?'
        r'<p class="message-body mb-0">(.*?)</p>',
        page,
        re.S,
    )
    return [(who, text) for who, text in found]


def conversations_listed(response) -> list[tuple[str, bool]]:
    """The conversations the Messages page lists, in order: (other person, unread)."""
    items = re.findall(
        r'<li class="list-group-item[^"]*?( unread-item)?">.*?href="/messages/([^"]+)"',
        page_text(response),
        re.S,
    )
    return [(name, bool(unread)) for unread, name in items]


def member_of(user_id: int, other_id: int) -> ConversationMember:
    db.session.expire_all()
    return db.session.get(ConversationMember, (user_id, other_id))


@pytest.fixture
def bob(app):
    """bob, signed in with a client of his own."""
    return signed_in(app, "bob")


# --- Writing to someone -------------------------------------------------------------------


def test_a_profile_offers_to_send_a_message_and_the_message_reaches_both(client, logged_in, bob):
    profile = page_text(client.get("/user/bob"))
    assert '<a class="btn btn-outline-primary btn-sm" href="/messages/bob">Send a message</a>' in (
        profile
    )
    response = send_message(client, "bob", "Hello Bob!\nSee you at 5?")
    assert response.status_code == 302
    assert response.headers["Location"] == "/messages/bob"
    after = client.get("/messages/bob")
    assert "Your message has been sent." in page_text(after)
    assert messages_shown(after) == [("You", "Hello Bob!\nSee you at 5?")]
    assert messages_shown(bob.get("/messages/alice")) == [("alice", "Hello Bob!\nSee you at 5?")]
    assert stored_messages() == [("alice", "Hello Bob!\nSee you at 5?")]


def test_a_conversation_reads_top_to_bottom_with_each_side_named(client, logged_in, bob):
    send_message(client, "bob", "Ping")
    send_message(bob, "alice", "Pong")
    send_message(client, "bob", "Ping again")
    assert messages_shown(client.get("/messages/bob")) == [
        ("You", "Ping"),
        ("bob", "Pong"),
        ("You", "Ping again"),
    ]
    assert messages_shown(bob.get("/messages/alice")) == [
        ("alice", "Ping"),
        ("You", "Pong"),
        ("alice", "Ping again"),
    ]
    # One conversation for the pair, whoever wrote first.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 1


def test_the_messages_page_lists_one_conversation_per_person_newest_first(client, logged_in):
    people = {name: signed_in(client.application, name) for name in ("bob", "carol", "dave")}
    for name, other in people.items():
        send_message(other, "alice", f"Hi from {name}")
    send_message(client, "carol", "Hi carol")  # alice's own message counts too
    page = client.get("/messages")
    assert page.status_code == 200
    assert [name for name, _ in conversations_listed(page)] == ["carol", "dave", "bob"]
    text = page_text(page)
    assert "You: Hi carol" in text and "Hi from dave" in text and "Hi from carol" not in text
    send_message(people["bob"], "alice", "Me again")
    assert [name for name, _ in conversations_listed(client.get("/messages"))] == [
        "bob",
        "carol",
        "dave",
    ]


def test_the_messages_page_without_conversations_says_how_to_start_one(client, logged_in):
    page = page_text(client.get("/messages"))
    assert "No conversations yet." in page
    assert client.get("/messages?page=2").status_code == 404


def test_the_messages_page_goes_on_page_by_page_from_its_older_link(client, logged_in):
    for number in range(5):  # 3 conversations a page in the tests
        send_message(signed_in(client.application, f"writer{number}"), "alice", f"note {number}")
    first = client.get("/messages")
    assert [name for name, _ in conversations_listed(first)] == ["writer4", "writer3", "writer2"]
    older = link_to(page_text(first), "Older conversations")
    assert "after=" in older
    second = client.get(older)
    assert [name for name, _ in conversations_listed(second)] == ["writer1", "writer0"]
    assert link_to(page_text(second), "Older conversations") is None
    assert link_to(page_text(second), "Newer conversations") == "/messages?page=1"
    assert client.get("/messages?page=3").status_code == 404


def test_a_long_conversation_shows_its_latest_messages_and_earlier_ones_page_by_page(
    client, logged_in, bob
):
    for number in range(1, 8):
        send_message(client if number % 2 else bob, "bob" if number % 2 else "alice", f"m{number}")
    latest = client.get("/messages/bob")
    assert [text for _, text in messages_shown(latest)] == ["m5", "m6", "m7"]
    assert 'id="message-form"' in page_text(latest)  # the form under the latest ones
    seen, path = [], link_to(page_text(latest), "Earlier messages")
    while path:
        response = client.get(path)
        assert 'id="message-form"' not in page_text(response)
        assert "Back to the latest messages" in page_text(response)
        seen = [text for _, text in messages_shown(response)] + seen
        path = link_to(page_text(response), "Earlier messages")
    assert seen == ["m1", "m2", "m3", "m4"]
    assert client.get("/messages/bob?page=4").status_code == 404


# --- Unread: the marks, the navigation bar's count ------------------------------------------


@pytest.mark.both_databases
def test_a_new_message_is_unread_for_its_recipient_only_until_the_conversation_is_read(
    client, logged_in, bob
):
    send_message(bob, "alice", "Are you there?")
    assert conversations_listed(client.get("/messages")) == [("bob", True)]
    assert conversations_listed(bob.get("/messages")) == [("alice", False)]
    assert unread_counts(client)["messages"] == 1
    assert unread_counts(bob)["messages"] == 0
    home = page_text(client.get("/index"))
    assert re.search(r'data-unread="messages"><span data-unread-count>1</span>', home)

    client.get("/messages/bob")
    assert conversations_listed(client.get("/messages")) == [("bob", False)]
    assert unread_counts(client)["messages"] == 0
    assert re.search(r'data-unread="messages" hidden>', page_text(client.get("/index")))


@pytest.mark.both_databases
def test_the_page_that_reads_a_conversation_shows_the_counts_after_reading_it(
    client, logged_in, bob
):
    send_message(bob, "alice", "One")
    page = page_text(client.get("/messages/bob"))
    # Its own navigation bar already counts the conversation as read.
    assert 'data-unread="messages" hidden>' in page
    assert 'data-unread-state="0.0"' in page


@pytest.mark.both_databases
def test_the_navigation_bar_counts_conversations_not_messages(client, logged_in, bob):
    for text in ("one", "two", "three"):
        send_message(bob, "alice", text)
    send_message(signed_in(client.application, "carol"), "alice", "hello")
    assert unread_counts(client)["messages"] == 2


@pytest.mark.both_databases
def test_a_message_read_while_another_arrives_leaves_the_new_one_unread(app, alice):
    """The read mark names the newest message the page showed; one stored after it stays
    unread, whichever order the two happen in."""
    bob = make_user("bob")
    store_message(bob.id, alice.id, None, "first", "a" * 22)
    db.session.commit()
    shown = db.session.scalar(sa.select(sa.func.max(Message.id)))
    member = member_of(alice.id, bob.id)
    store_message(bob.id, alice.id, member.conversation_id, "second", "b" * 22)
    db.session.commit()
    mark_read(alice.id, bob.id, shown)  # the page that read "first" marks it now
    db.session.commit()
    member = member_of(alice.id, bob.id)
    assert member.last_read_id == shown < member.last_received_id
    # A late mark never lowers what a later page marked.
    mark_read(alice.id, bob.id, member.last_received_id)
    mark_read(alice.id, bob.id, shown)
    db.session.commit()
    assert member_of(alice.id, bob.id).last_read_id == member.last_received_id


# --- Refused, and nothing stored -----------------------------------------------------------


def test_writing_to_yourself_is_refused_with_a_message(client, logged_in):
    response = client.get("/messages/alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/messages"
    assert "You cannot send messages to yourself." in page_text(client.get("/messages"))
    form = {"csrf_token": csrf_token(client, "/index"), "submission": "x" * 22, "body": "Hi"}
    response = client.post("/messages/ALICE", data=form)
    assert response.status_code == 302
    assert stored_messages() == []


def test_writing_to_someone_who_does_not_exist_is_the_404_page(client, logged_in):
    form = {"csrf_token": csrf_token(client, "/index"), "submission": "x" * 22, "body": "Hi"}
    for response in (client.get("/messages/nobody"), client.post("/messages/nobody", data=form)):
        assert response.status_code == 404
        assert "There is nobody with that name here." in page_text(response)
    assert stored_messages() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write something to send."),
        ("   \r\n\t ", "Write something to send."),
        ("x" * 1001, "A message is at most 1000 characters long."),
    ],
    ids=["empty", "blank", "too-long"],
)
def test_an_empty_or_too_long_message_is_refused_with_the_reason(
    client, logged_in, bob, body, message
):
    response = send_message(client, "bob", body)
    assert response.status_code == 200
    page = page_text(response)
    assert message in page
    assert 'aria-invalid="true"' in page  # the field says it, for screen readers too
    assert stored_messages() == []
    assert unread_counts(bob)["messages"] == 0


def test_a_message_of_exactly_the_longest_length_is_sent(client, logged_in, bob):
    assert send_message(client, "bob", "y" * 1000).status_code == 302
    assert stored_messages() == [("alice", "y" * 1000)]


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "<a href=javascript:alert(1)>click</a>",
        '"><img src=x onerror=alert(1)>',
        "control \x01\x07\x1b[31m characters \u202e reversed",
        "&lt;b&gt; &amp; &#60;",
        "{{ 7 * 7 }} {% raw %}",
        "line one\r\nline two",
    ],
)
def test_hostile_text_is_kept_and_shown_as_the_text_it_is(client, logged_in, bob, body):
    assert send_message(client, "bob", body).status_code == 302
    assert stored_messages() == [("alice", body)]
    for response in (bob.get("/messages/alice"), bob.get("/messages")):
        shown = page_text(response).split("</nav>", 1)[1]
        assert "<script>" not in shown and "<img src=x" not in shown
        assert "<a href=javascript" not in shown
    shown = messages_shown(bob.get("/messages/alice"))
    assert [html.unescape(text) for _, text in shown] == [body]


@pytest.mark.parametrize("submission", ["", "short", "x" * 23, "with space here 123456", "é" * 22])
def test_a_form_without_its_own_submission_key_is_refused(client, logged_in, bob, submission):
    form = {**message_form(client, "bob"), "submission": submission, "body": "Hi"}
    response = client.post("/messages/bob", data=form)
    assert response.status_code == 400
    assert "Reload the page and try again." in page_text(response)
    assert stored_messages() == []


def test_a_message_without_the_csrf_token_is_refused(client, logged_in, bob):
    form = {**message_form(client, "bob"), "body": "Hi"}
    del form["csrf_token"]
    response = client.post("/messages/bob", data=form)
    assert response.status_code == 400
    assert stored_messages() == []


def test_visitors_without_an_account_are_sent_to_log_in(client, alice):
    make_user("bob")
    for path in ("/messages", "/messages/bob"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    token = csrf_token(client, "/login")
    response = client.post("/messages/bob", data={"csrf_token": token, "body": "Hi"})
    assert response.status_code == 302
    assert stored_messages() == []


def test_someone_who_blocks_you_cannot_be_messaged_and_you_are_told_only_that(
    client, logged_in, bob
):
    block(bob, "alice")
    page = page_text(client.get("/messages/bob"))
    assert 'id="message-form"' in page and "blocked" not in page.lower()
    response = send_message(client, "bob", "Hello?")
    assert response.status_code == 200
    assert "You cannot message this user." in page_text(response)
    assert "blocked" not in page_text(response).lower()
    assert stored_messages() == []
    assert unread_counts(bob)["messages"] == 0


def test_you_cannot_message_someone_you_block_until_you_unblock_them(client, logged_in, bob):
    block(client, "bob")
    page = page_text(client.get("/messages/bob"))
    assert "You have blocked bob: you cannot message each other." in page
    assert 'id="message-form"' not in page
    assert 'action="/unblock/bob"' in page
    form = {"csrf_token": csrf_token(client, "/index"), "submission": "z" * 22, "body": "Hi"}
    response = client.post("/messages/bob", data=form)
    assert response.status_code == 200
    assert "You have blocked bob: you cannot message each other." in page_text(response)
    assert 'id="message-form"' not in page_text(response)
    assert stored_messages() == []


# --- Nobody reads anyone else's conversation ------------------------------------------------


def test_a_conversation_page_is_always_the_viewers_own(client, logged_in, bob):
    send_message(client, "bob", "Between alice and bob")
    carol = signed_in(client.application, "carol")
    theirs = db.session.scalar(sa.select(Message.id))
    conversation = db.session.scalar(sa.select(Conversation.id))
    # Carol's own conversation with either of them: empty, whatever the query says.
    for path in (
        "/messages/alice",
        "/messages/bob",
        f"/messages/bob?page=2&after={theirs + 1}",
        f"/messages/alice?after={theirs + 1}",
    ):
        response = carol.get(path)
        assert "Between alice and bob" not in page_text(response), path
        assert response.status_code in (200, 404), path
    assert conversations_listed(carol.get("/messages")) == []
    # Conversations have no address of their own: a number is a name nobody has.
    assert carol.get(f"/messages/{conversation}").status_code == 404
    assert "Between alice and bob" not in page_text(carol.get("/notifications"))


# --- A form sent twice, many tabs, both people at once --------------------------------------


@pytest.mark.both_databases
def test_a_form_sent_twice_is_one_message(client, logged_in, bob):
    form = {**message_form(client, "bob"), "body": "Only once"}
    first = client.post("/messages/bob", data=form)
    second = client.post("/messages/bob", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"] == "/messages/bob"
    assert stored_messages() == [("alice", "Only once")]
    assert unread_counts(bob)["notifications"] == 1
    # A new form, a new message, even with the same words.
    assert send_message(client, "bob", "Only once").status_code == 302
    assert stored_messages() == [("alice", "Only once")] * 2


@pytest.mark.both_databases
def test_one_form_sent_from_16_tabs_at_once_is_one_message(file_app):
    with file_app.app_context():
        make_user("alice")
        make_user("bob")
    tabs, token = tabs_of_one_person(file_app, 16, "/messages/bob")
    form = {"csrf_token": token, "submission": "s" * 22, "body": "Sent at once"}
    statuses = run_together(
        len(tabs), lambda i: tabs[i].post("/messages/bob", data=form).status_code
    )
    assert statuses == [302] * 16
    with file_app.app_context():
        assert stored_messages() == [("alice", "Sent at once")]


@pytest.mark.both_databases
def test_16_tabs_writing_at_once_keep_every_message_and_the_newest_last(file_app):
    with file_app.app_context():
        make_user("alice")
        bob_id = make_user("bob").id
    tabs, token = tabs_of_one_person(file_app, 16, "/messages/bob")

    def write(index: int) -> int:
        form = {"csrf_token": token, "submission": f"{index:022d}", "body": f"tab {index}"}
        return tabs[index].post("/messages/bob", data=form).status_code

    assert run_together(len(tabs), write) == [302] * 16
    with file_app.app_context():
        assert sorted(body for _, body in stored_messages()) == sorted(
            f"tab {index}" for index in range(16)
        )
        newest = db.session.scalar(sa.select(sa.func.max(Message.id)))
        alice_id = User.by_username("alice").id
        for user_id, other_id in ((alice_id, bob_id), (bob_id, alice_id)):
            assert member_of(user_id, other_id).last_message_id == newest
        assert member_of(bob_id, alice_id).last_received_id == newest
        # One unread notification tells bob of them all, naming the newest.
        told = db.session.scalars(sa.select(Notification)).all()
        assert [(n.kind, n.message_id) for n in told] == [("message", newest)]


@pytest.mark.both_databases
def test_two_people_writing_first_to_each_other_at_once_share_one_conversation(file_app):
    with file_app.app_context():
        make_user("alice")
        make_user("bob")
    writers = []
    for me, other in (("alice", "bob"), ("bob", "alice")) * 4:
        tabs, token = tabs_of_one_person(file_app, 1, f"/messages/{other}", username=me)
        writers.append((tabs[0], token, other))

    def write(index: int) -> int:
        client, token, other = writers[index]
        form = {"csrf_token": token, "submission": f"{index:022d}", "body": f"hi {index}"}
        return client.post(f"/messages/{other}", data=form).status_code

    assert run_together(len(writers), write) == [302] * 8
    with file_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 1
        assert len(stored_messages()) == 8
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ConversationMember)) == 2


@pytest.mark.both_databases
def test_reading_while_messages_arrive_leaves_counts_that_match_what_was_read(file_app):
    """8 tabs of bob read the conversation while alice sends 8 messages: the unread
    count then says exactly whether bob has read the newest."""
    with file_app.app_context():
        make_user("alice")
        bob_id = make_user("bob").id
    senders, send_token = tabs_of_one_person(file_app, 8, "/messages/bob", "alice")
    readers, _ = tabs_of_one_person(file_app, 8, "/index", "bob")
    send_message(senders[0], "bob", "first")

    def act(index: int) -> int:
        if index % 2:
            return readers[index // 2].get("/messages/alice").status_code
        form = {"csrf_token": send_token, "submission": f"{index:022d}", "body": f"m{index}"}
        return senders[index // 2].post("/messages/bob", data=form).status_code

    assert set(run_together(16, act)) <= {200, 302}
    with file_app.app_context():
        alice_id = User.by_username("alice").id
        member = member_of(bob_id, alice_id)
        newest = db.session.scalar(sa.select(sa.func.max(Message.id)))
        assert member.last_received_id == member.last_message_id == newest
        unread = member.last_read_id < member.last_received_id
    assert unread_counts(readers[0])["messages"] == int(unread)
    readers[0].get("/messages/alice")
    assert unread_counts(readers[0])["messages"] == 0


# --- Pages read from their indexes ------------------------------------------------------


def test_sqlite_reads_the_message_pages_and_the_counts_from_their_indexes(client, logged_in):
    """Each statement finds its rows through the index made for it, never by reading a
    table: the pages read one index range, the unread counts the unread entries only.
    (SQLite's plans; PostgreSQL's depend on the statistics it has gathered.)"""
    [busy] = add_authors_with_posts(authors=1, posts_each=0)
    add_conversations(logged_in.id, [busy], 200)
    add_conversations(logged_in.id, add_authors_with_posts(authors=50, posts_each=0), 2)
    counts = [
        "ix_conversation_member_unread (user_id=?)",
        "ix_notification_user_id_read_at_id (user_id=? AND read_at=?)",
    ]
    pages = {
        "/messages": "ix_conversation_member_user_id_last_message_id (user_id=?)",
        f"/messages/author{busy}": "ix_message_conversation_id_id (conversation_id=?)",
        "/notifications": "ix_notification_user_id_id (user_id=?)",
        "/notifications/unread?since=0.0": None,  # the poll: its one statement, the counts
    }
    connection = db.session.connection().connection.dbapi_connection
    for path, page_index in pages.items():
        client.get(path)
        with executed() as pairs:
            client.get(path)
        plans = [
            [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in pairs
        ]
        steps = [step for plan in plans for step in plan]
        # "SCAN anon_1" reads a subquery's few rows; "SCAN message" would read a table.
        scanned = {found[1] for step in steps if (found := re.match(r"SCAN (\w+)", step))}
        assert not scanned & set(db.metadata.tables), (path, plans)
        wanted = [*counts, *([page_index] if page_index else [])]
        assert all(any(index in step for step in steps) for index in wanted), (path, plans)


# --- The rate limit ----------------------------------------------------------------------


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_MESSAGES": "3 per minute"}])
def test_sending_is_limited_per_user_and_posting_is_not_spent_by_it(client, logged_in, bob):
    carol = signed_in(client.application, "carol")
    for name in ("bob", "carol", "bob"):
        assert send_message(client, name, f"to {name}").status_code == 302
    response = send_message(client, "carol", "one too many")
    assert response.status_code == 429
    assert "You are sending messages faster than this site allows." in page_text(response)
    assert len(stored_messages()) == 3
    # Reading is never limited, nor is it counted against the others.
    assert client.get("/messages/carol").status_code == 200
    assert send_message(carol, "alice", "carol's own allowance").status_code == 302
    form = {"csrf_token": csrf_token(client, "/index"), "body": "A post"}
    assert client.post("/index", data=form).status_code == 302


# --- Migration 0012 -------------------------------------------------------------------------


@pytest.mark.both_databases
def test_migration_0012_adds_the_tables_to_a_database_with_users_and_downgrades(
    make_app, empty_database_url
):
    from flask_migrate import downgrade, upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    new_tables = {"block", "conversation", "conversation_member", "message", "notification"}
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as connection:
            for name in ("alice", "bob"):
                connection.execute(
                    sa.text(
                        'INSERT INTO "user" (username, email, password_hash, session_token) '
                        "VALUES (:name, :email, 'x', :name)"
                    ),
                    {"name": name, "email": f"{name}@example.com"},
                )
        assert not new_tables & set(sa.inspect(db.engine).get_table_names())

        upgrade()

        inspector = sa.inspect(db.engine)
        assert new_tables <= set(inspector.get_table_names())
        indexes = {i["name"]: i for i in inspector.get_indexes("conversation_member")}
        assert indexes["ix_conversation_member_user_id_last_message_id"]["column_names"] == [
            "user_id",
            "last_message_id",
        ]
        unique = {i["name"] for i in inspector.get_indexes("notification") if i["unique"]}
        assert unique == {"uq_notification_unread_by_actor"}
        alice, bob = User.by_username("alice"), User.by_username("bob")
        assert store_message(alice.id, bob.id, None, "After the upgrade", "m" * 22)
        assert bob.block(alice)
        db.session.commit()
        assert stored_messages() == [("alice", "After the upgrade")]
        db.session.remove()

        downgrade(revision="0011")

        assert not new_tables & set(sa.inspect(db.engine).get_table_names())
        with db.engine.connect() as connection:
            users = connection.execute(sa.text('SELECT username FROM "user"')).scalars()
            assert sorted(users) == ["alice", "bob"]
        db.engine.dispose()


def test_message_timestamps_are_aware_utc(client, logged_in, bob):
    before = utcnow()
    send_message(client, "bob", "When?")
    sent_at = db.session.scalar(sa.select(Message.timestamp))
    assert sent_at.tzinfo is not None and before <= sent_at <= utcnow()


def test_the_rate_of_messages_is_read_from_the_environment_strictly(make_app, monkeypatch):
    monkeypatch.setenv("RATELIMIT_MESSAGES", "5 per minute")
    assert make_app(Config, TESTING=True).config["RATELIMIT_MESSAGES"] == "5 per minute"
    monkeypatch.setenv("RATELIMIT_MESSAGES", "lots")
    with pytest.raises(ConfigError, match="RATELIMIT_MESSAGES='lots' is not a rate limit"):
        make_app(Config, TESTING=True)


@pytest.mark.both_databases
def test_deleting_a_user_deletes_their_conversations_blocks_and_notifications(app, alice):
    """A plain DELETE of the user's row: the database's ON DELETE CASCADE does the rest,
    in both directions, and leaves everyone else's as it was."""
    bob, carol = make_user("bob"), make_user("carol")
    store_message(alice.id, bob.id, None, "alice to bob", "a" * 22)
    store_message(bob.id, alice.id, member_of(alice.id, bob.id).conversation_id, "back", "b" * 22)
    store_message(carol.id, alice.id, None, "carol to alice", "c" * 22)
    store_message(bob.id, carol.id, None, "bob to carol", "d" * 22)
    assert bob.block(alice) and carol.block(bob)
    db.session.commit()
    bob_id = bob.id
    db.session.execute(sa.delete(User).where(User.id == bob_id))
    db.session.commit()
    assert stored_messages() == [("carol", "carol to alice")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 1
    members = db.session.scalars(sa.select(ConversationMember.user_id)).all()
    assert sorted(members) == sorted([alice.id, carol.id])
    assert db.session.execute(sa.select(blocks)).all() == []
    told = db.session.scalars(sa.select(Notification.actor_id)).all()
    assert told == [carol.id]  # carol's message to alice; bob's are gone with him
