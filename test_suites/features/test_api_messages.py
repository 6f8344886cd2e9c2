"""The API's messages, notifications, unread counts and blocks: the lists read to their end
by their ``next`` links, what reading marks read, what sending refuses (and never
stores), a message sent again with its key, sends racing, the shared allowance."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Conversation, ConversationMember, Message, Notification, User, blocks
from testkit.api_clients import api_caller, assert_problem, bearer, obtain_token
from testkit.clients import make_user, run_together, send_message, signed_in


@pytest.fixture
def alice_api(client, alice):
    return api_caller(client, "alice")


@pytest.fixture
def bob_api(client, alice):
    make_user("bob")
    return api_caller(client, "bob")


def people(client, *names: str) -> list:
    """A caller for each new account named."""
    callers = []
    for name in names:
        make_user(name)
        callers.append(api_caller(client, name))
    return callers


def send(call, username: str, body: str, status: int = 201, **fields) -> dict:
    response = call("post", f"/api/v1/messages/{username}", json={"body": body, **fields})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def read_to_the_end(call, path: str) -> list[list[dict]]:
    pages = []
    while path:
        response = call("get", path)
        assert response.status_code == 200, response.get_data(as_text=True)
        pages.append(response.get_json()["items"])
        path = response.get_json()["next"]
    return pages


def stored_messages() -> list[tuple[str, str]]:
    """Every message kept: (sender's name, text), oldest first."""
    rows = db.session.execute(
        sa.select(User.username, Message.body)
        .join_from(Message, User, Message.sender_id == User.id)
        .order_by(Message.id)
    )
    return [tuple(row) for row in rows]


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def unread(call) -> dict:
    response = call("get", "/api/v1/me/unread")
    assert response.status_code == 200
    return response.get_json()


# --- Conversations and their messages ----------------------------------------------------


@pytest.mark.both_databases
def test_conversations_come_newest_first_marked_unread_and_page_to_the_end(client, alice_api):
    bob, carol, dave = people(client, "bob", "carol", "dave")
    for name, call in (("bob", bob), ("carol", carol), ("dave", dave)):
        send(call, "alice", f"Hi from {name}")
    send(alice_api, "carol", "Hi carol")  # alice's own message counts too
    pages = read_to_the_end(alice_api, "/api/v1/messages?limit=2")
    assert [len(page) for page in pages] == [2, 1]
    listed = [conversation for page in pages for conversation in page]
    assert [(c["username"], c["unread"]) for c in listed] == [
        ("carol", True),  # carol's message is still unread under alice's answer
        ("dave", True),
        ("bob", True),
    ]
    carol_first = listed[0]
    assert carol_first["last_message"]["body"] == "Hi carol"
    assert carol_first["last_message"]["sender"] == "alice"
    assert listed[1]["last_message"]["sender"] == "dave"
    assert carol_first["url"] == "/api/v1/messages/carol"
    assert carol_first["html_url"] == "/messages/carol"
    assert carol_first["avatar_url"].startswith("https://www.gravatar.com/avatar/")
    # Their side: one conversation each, read (they wrote last, or alice's is unread).
    assert [
        (c["username"], c["unread"]) for c in carol("get", "/api/v1/messages").get_json()["items"]
    ] == [("alice", True)]
    assert [c["unread"] for c in bob("get", "/api/v1/messages").get_json()["items"]] == [False]


@pytest.mark.both_databases
def test_reading_a_conversation_reads_it_as_the_sites_page_does(client, alice_api, bob_api):
    for number in range(5):
        send(bob_api, "alice", f"m{number}")
    send(alice_api, "bob", "answer")
    assert unread(alice_api) == {"messages": 1, "notifications": 1}
    # An earlier page first: read up to its newest of bob's messages, the rest stays new.
    m4 = db.session.scalar(sa.select(Message.id).where(Message.body == "m4"))
    earlier = alice_api("get", f"/api/v1/messages/bob?limit=2&after={m4}").get_json()
    assert [m["body"] for m in earlier["items"]] == ["m3", "m2"]
    assert unread(alice_api)["messages"] == 1
    bob_id = User.by_username("bob").id
    db.session.expire_all()
    seen = db.session.get(ConversationMember, (User.by_username("alice").id, bob_id))
    assert seen.last_read_id == earlier["items"][0]["id"]
    # The latest page, newest first with each side named, reads the conversation and its
    # notification; pages read on to the first message.
    pages = read_to_the_end(alice_api, "/api/v1/messages/BOB?limit=2")
    assert [[(m["sender"], m["body"]) for m in page] for page in pages] == [
        [("alice", "answer"), ("bob", "m4")],
        [("bob", "m3"), ("bob", "m2")],
        [("bob", "m1"), ("bob", "m0")],
    ]
    assert unread(alice_api) == {"messages": 0, "notifications": 0}
    assert alice_api("get", "/api/v1/messages").get_json()["items"][0]["unread"] is False
    # Reading is the reader's: bob's side still says alice's answer is unread.
    assert bob_api("get", "/api/v1/messages").get_json()["items"][0]["unread"] is True


def test_a_conversation_that_is_not_there_is_a_problem(client, alice_api):
    make_user("carol")
    cases = [
        ("/api/v1/messages/nobody", 404, "There is nobody with that name here."),
        ("/api/v1/messages/carol", 404, "You have no conversation with this user yet: "),
        ("/api/v1/messages/ALICE", 403, "You cannot send messages to yourself."),
    ]
    for path, status, detail in cases:
        assert assert_problem(alice_api("get", path), status)["detail"].startswith(detail)


# --- Sending -------------------------------------------------------------------------------


def test_a_message_sent_reaches_the_other_who_is_told_of_it(client, alice_api, bob_api):
    sent = send(alice_api, "bob", "Hello Bob!\r\nSee you at 5?")
    assert set(sent) == {"id", "body", "sender", "created_at"}
    assert (sent["body"], sent["sender"]) == ("Hello Bob!\r\nSee you at 5?", "alice")
    assert stored_messages() == [("alice", "Hello Bob!\r\nSee you at 5?")]
    assert bob_api("get", "/api/v1/messages/alice").get_json()["items"] == [sent]
    [told] = bob_api("get", "/api/v1/notifications").get_json()["items"]
    assert (told["kind"], told["actor"], told["url"]) == (
        "message",
        "alice",
        "/api/v1/messages/alice",
    )
    # Without a key every call is a message of its own, the same words too.
    send(alice_api, "bob", "Hello Bob!\r\nSee you at 5?")
    assert len(stored_messages()) == 2
    assert count(Conversation) == 1


def test_what_cannot_be_sent_is_a_problem_in_the_sites_words_and_nothing_is_stored(
    client, alice_api, bob_api
):
    carol, dave = people(client, "carol", "dave")
    assert carol("put", "/api/v1/me/blocked/alice").status_code == 204
    assert alice_api("put", "/api/v1/me/blocked/dave").status_code == 204
    cases = [
        ("alice", 403, "You cannot send messages to yourself."),
        ("nobody", 404, "There is nobody with that name here."),
        ("carol", 403, "You cannot message this user."),  # carol blocks alice: no more said
        ("dave", 403, "You have blocked dave: you cannot message each other."),
    ]
    for username, status, detail in cases:
        problem = assert_problem(
            alice_api("post", f"/api/v1/messages/{username}", json={"body": "Hi"}), status
        )
        assert problem["detail"] == detail, username
    spanish = alice_api(
        "post", "/api/v1/messages/dave", json={"body": "Hi"}, headers={"Accept-Language": "es"}
    )
    assert spanish.get_json()["detail"] == "Has bloqueado a dave: no podéis escribiros."
    assert_problem(dave("post", "/api/v1/messages/alice", json={"body": "Hi"}), 403)
    assert stored_messages() == []
    assert count(Conversation) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": " \r\n\t\u3000"}, "body"),
        ({"body": "x" * 1001}, "body"),
        ({"body": 42}, "body"),
        ({"body": None}, "body"),
        ({}, "body"),
        ({"body": "Hi", "to": "carol"}, "to"),
        ({"body": "Hi", "idempotency_key": "has space"}, "idempotency_key"),
        ({"body": "Hi", "idempotency_key": "k" * 33}, "idempotency_key"),
        ({"body": "Hi", "idempotency_key": "key\n"}, "idempotency_key"),
        ({"body": "Hi", "idempotency_key": 7}, "idempotency_key"),
        (["Hi"], "(body)"),
    ],
    ids=[
        "empty",
        "blank",
        "too-long",
        "number",
        "null",
        "missing",
        "unknown-field",
        "key-with-space",
        "key-too-long",
        "key-with-newline",
        "key-number",
        "not-an-object",
    ],
)
def test_a_wrong_field_is_a_422_naming_it(client, alice_api, bob_api, body, field):
    problem = assert_problem(alice_api("post", "/api/v1/messages/bob", json=body), 422)
    assert problem["type"] == "/api/v1/docs#problem-invalid-request"
    assert {error["field"] for error in problem["errors"]} == {field}
    assert stored_messages() == []


def test_a_body_that_is_no_json_object_is_refused_before_the_schema(client, alice_api, bob_api):
    path = "/api/v1/messages/bob"
    assert_problem(alice_api("post", path, data="body=Hi"), 415)
    assert_problem(alice_api("post", path, data='{"body": ', content_type="application/json"), 400)
    assert_problem(alice_api("post", path, json={"body": "nul \x00"}), 400)
    assert send(alice_api, "bob", "y" * 1000)["body"] == "y" * 1000  # the longest is sent
    assert stored_messages() == [("alice", "y" * 1000)]


@pytest.mark.both_databases
def test_a_message_sent_again_with_its_key_is_stored_once(client, alice_api, bob_api):
    make_user("carol")
    first = send(alice_api, "bob", "Only once", idempotency_key="retry-42_A")
    again = send(alice_api, "bob", "Only once", status=200, idempotency_key="retry-42_A")
    assert again == first
    assert stored_messages() == [("alice", "Only once")]
    assert unread(bob_api)["notifications"] == 1
    # Another message, or another person, with that key: a conflict, and nothing of it
    # is kept (not even a conversation with carol).
    for username, body in (("bob", "Something else"), ("carol", "Only once")):
        reused = alice_api(
            "post",
            f"/api/v1/messages/{username}",
            json={"body": body, "idempotency_key": "retry-42_A"},
        )
        problem = assert_problem(reused, 409)
        assert problem["detail"] == (
            "This key was sent with another message: a key is one message's only."
        )
    assert stored_messages() == [("alice", "Only once")]
    assert count(Conversation) == 1
    # Keys are each sender's own: bob may use the same one.
    send(bob_api, "alice", "Mine", idempotency_key="retry-42_A")
    assert len(stored_messages()) == 2


@pytest.mark.both_databases
def test_one_message_sent_16_times_at_once_with_its_key_is_stored_once(file_app):
    with file_app.app_context():
        make_user("alice")
        make_user("bob")
    token = obtain_token(file_app.test_client())

    def send_copy(index: int) -> int:
        response = file_app.test_client().post(
            "/api/v1/messages/bob",
            headers=bearer(token),
            json={"body": "Sent at once", "idempotency_key": "one-key"},
        )
        return response.status_code

    assert sorted(run_together(16, send_copy)) == [200] * 15 + [201]
    with file_app.app_context():
        assert stored_messages() == [("alice", "Sent at once")]
        assert count(Notification) == 1


@pytest.mark.both_databases
def test_two_people_writing_first_to_each_other_at_once_share_one_conversation(file_app):
    with file_app.app_context():
        make_user("alice")
        make_user("bob")
    setup = file_app.test_client()
    writers = [
        (bearer(obtain_token(setup, me)), other)
        for me, other in [("alice", "bob"), ("bob", "alice")] * 4
    ]

    def write(index: int) -> int:
        headers, other = writers[index]
        response = file_app.test_client().post(
            f"/api/v1/messages/{other}", headers=headers, json={"body": f"hi {index}"}
        )
        return response.status_code

    assert run_together(len(writers), write) == [201] * 8
    with file_app.app_context():
        assert count(Conversation) == 1
        assert count(ConversationMember) == 2
        assert len(stored_messages()) == 8


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_MESSAGES": "3 per minute"}])
def test_sending_shares_the_sites_messaging_allowance_and_not_the_writing_one(
    client, app, alice_api
):
    browser = signed_in(app, "bob")
    make_user("carol")
    assert send_message(browser, "alice", "from the site").status_code == 302
    # bob's API calls spend what his form spent (each counted once), and no more.
    bob = api_caller(client, "bob")
    send(bob, "alice", "one")
    send(bob, "carol", "two")
    problem = assert_problem(bob("post", "/api/v1/messages/alice", json={"body": "three"}), 429)
    assert problem["detail"] == (
        "You are sending messages faster than this site allows. Please wait a little."
    )
    assert len(stored_messages()) == 3
    assert send_message(browser, "alice", "the form is over it too").status_code == 429
    # Reading, posting and alice's own allowance are not spent by it.
    assert bob("get", "/api/v1/messages/alice").status_code == 200
    assert bob("post", "/api/v1/posts", json={"body": "A post"}).status_code == 201
    send(alice_api, "bob", "alice's own")


# --- Notifications and the unread counts ----------------------------------------------------


@pytest.mark.both_databases
def test_notifications_page_to_the_end_and_reading_them_marks_nothing(client, alice_api):
    bob, carol = people(client, "bob", "carol")
    post = alice_api("post", "/api/v1/posts", json={"body": "A question"}).get_json()
    assert bob("put", "/api/v1/users/alice/follow").status_code == 204
    bob("post", f"/api/v1/posts/{post['id']}/replies", json={"body": "An answer"})
    mention = carol("post", "/api/v1/posts", json={"body": "Hello @alice"}).get_json()
    send(carol, "alice", "Psst")
    pages = read_to_the_end(alice_api, "/api/v1/notifications?limit=3")
    assert [len(page) for page in pages] == [3, 1]
    told = [notification for page in pages for notification in page]
    reply_id = post["id"] + 1
    assert [(n["kind"], n["actor"], n["post_id"], n["url"]) for n in told] == [
        ("message", "carol", None, "/api/v1/messages/carol"),
        ("mention", "carol", mention["id"], f"/api/v1/posts/{mention['id']}"),
        ("reply", "bob", reply_id, f"/api/v1/posts/{reply_id}"),
        ("follow", "bob", None, "/api/v1/users/bob"),
    ]
    assert told[0]["actor_url"] == "/api/v1/users/carol"
    assert [n["read_at"] for n in told] == [None] * 4
    assert unread(alice_api) == {"messages": 1, "notifications": 4}


@pytest.mark.both_databases
def test_notifications_are_read_up_to_the_id_named_and_newer_ones_stay_new(client, alice_api):
    names = ["bob", "carol", "dave"]
    for call in people(client, *names):
        assert call("put", "/api/v1/users/alice/follow").status_code == 204
    told = alice_api("get", "/api/v1/notifications").get_json()["items"]
    assert [n["actor"] for n in told] == ["dave", "carol", "bob"]
    marked = alice_api("post", "/api/v1/notifications/read", json={"up_to": told[1]["id"]})
    assert marked.status_code == 200
    assert marked.get_json() == {"messages": 0, "notifications": 1}
    after = alice_api("get", "/api/v1/notifications").get_json()["items"]
    assert [n["read_at"] is None for n in after] == [True, False, False]
    # Marked again, or past the newest: the read stay read, when they were read.
    again = alice_api("post", "/api/v1/notifications/read", json={"up_to": 2**31 - 1})
    assert again.get_json() == {"messages": 0, "notifications": 0}
    final = alice_api("get", "/api/v1/notifications").get_json()["items"]
    assert final[1]["read_at"] == after[1]["read_at"]
    for wrong in ({}, {"up_to": "3"}, {"up_to": 0}, {"up_to": 2**31}, {"up_to": 1.5}):
        problem = assert_problem(alice_api("post", "/api/v1/notifications/read", json=wrong), 422)
        assert [error["field"] for error in problem["errors"]] == ["up_to"]


def test_the_unread_counts_are_the_navigation_bars(client, alice_api):
    bob, carol = people(client, "bob", "carol")
    for text in ("one", "two"):
        send(bob, "alice", text)
    send(carol, "alice", "three")
    carol("put", "/api/v1/users/alice/follow")
    assert unread(alice_api) == {"messages": 2, "notifications": 3}
    assert unread(bob) == {"messages": 0, "notifications": 0}


# --- Blocking -------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_blocking_through_the_api_is_the_sites_block(client, alice_api, bob_api):
    carol, amy = people(client, "carol", "amy")
    for call in (bob_api, carol, amy):
        call("put", "/api/v1/users/alice/follow")
    alice_api("put", "/api/v1/users/bob/follow")
    for name in ("carol", "bob", "amy", "bob"):  # bob twice: one block
        assert alice_api("put", f"/api/v1/me/blocked/{name}").status_code == 204
    pages = read_to_the_end(alice_api, "/api/v1/me/blocked?limit=2")
    assert [[p["username"] for p in page] for page in pages] == [["amy", "bob"], ["carol"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(blocks)) == 3
    profile = alice_api("get", "/api/v1/users/bob").get_json()
    assert (profile["is_blocking"], profile["is_following"], profile["followers_count"]) == (
        True,
        False,
        0,
    )
    assert bob_api("get", "/api/v1/users/alice").get_json()["is_blocking"] is False
    # Their notifications went; neither may follow the other, each told what the site says.
    assert [
        n["actor"] for n in alice_api("get", "/api/v1/notifications").get_json()["items"]
    ] == []
    refused = assert_problem(bob_api("put", "/api/v1/users/alice/follow"), 403)
    assert refused["detail"] == "You cannot follow this user."
    refused = assert_problem(alice_api("put", "/api/v1/users/bob/follow"), 403)
    assert refused["detail"] == "You have blocked bob: unblock them to follow them."
    # A detail that names someone is translated with the name in it.
    spanish = alice_api("put", "/api/v1/users/bob/follow", headers={"Accept-Language": "es"})
    assert spanish.get_json()["detail"] == "Has bloqueado a bob: desbloquéalo para seguirlo."

    assert alice_api("delete", "/api/v1/me/blocked/bob").status_code == 204
    assert alice_api("delete", "/api/v1/me/blocked/bob").status_code == 204
    assert alice_api("get", "/api/v1/users/bob").get_json()["is_following"] is False
    assert bob_api("put", "/api/v1/users/alice/follow").status_code == 204
    assert [p["username"] for p in alice_api("get", "/api/v1/me/blocked").get_json()["items"]] == [
        "amy",
        "carol",
    ]
    for method, detail in (
        ("put", "You cannot block yourself."),
        ("delete", "You cannot unblock yourself."),
    ):
        assert (
            assert_problem(alice_api(method, "/api/v1/me/blocked/alice"), 403)["detail"] == detail
        )
        assert_problem(alice_api(method, "/api/v1/me/blocked/nobody"), 404)


def test_following_and_answering_through_the_api_notify_as_the_site_does(client, alice_api):
    [bob] = people(client, "bob")
    post = bob("post", "/api/v1/posts", json={"body": "Hi @alice"}).get_json()
    alice_api("post", f"/api/v1/posts/{post['id']}/replies", json={"body": "Hi @bob"})
    alice_api("put", "/api/v1/users/bob/follow")
    alice_api("put", "/api/v1/users/bob/follow")  # told once while unread
    kinds = [n["kind"] for n in bob("get", "/api/v1/notifications").get_json()["items"]]
    assert kinds == ["follow", "reply"]  # a reply that names him too is told once
    assert [n["kind"] for n in alice_api("get", "/api/v1/notifications").get_json()["items"]] == [
        "mention"
    ]
