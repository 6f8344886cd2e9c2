"""A post's page, replies, editing (with two tabs at once), deleting, and hashtag pages."""

import re

import pytest
import sqlalchemy as sa

from app.database import utcnow
from app.extensions import db
from app.models import Post, post_tags
from testkit.clients import (
    Auth,
    follow,
    link_to,
    make_user,
    page_text,
    post_bodies,
    run_together,
    submit,
    tabs_of_one_person,
)


def write(client, body: str, path: str = "/index") -> int:
    """Write a post (or, with the path of a post's page, a reply); the new post's id."""
    response = submit(client, path, {"body": body})
    assert response.status_code == 302, page_text(response)
    return db.session.scalar(sa.select(sa.func.max(Post.id)))


def version_on(client, path: str) -> int:
    found = re.search(r'name="version" value="(\d+)"', page_text(client.get(path)))
    assert found, path
    return int(found.group(1))


def stored(post_id: int) -> Post:
    db.session.expire_all()
    return db.session.get(Post, post_id)


def tags_of(post_id: int) -> set[str]:
    rows = db.session.scalars(sa.select(post_tags.c.tag).where(post_tags.c.post_id == post_id))
    return set(rows)


# --- A post's page and its replies ------------------------------------------------------------


def test_every_listed_post_links_its_time_to_its_own_page(client, logged_in):
    post_id = write(client, "Hello, world")
    for page in ("/index", "/explore", f"/user/{logged_in.username}"):
        assert f'<a class="small text-body-secondary" href="/post/{post_id}"><time' in page_text(
            client.get(page)
        ), page
    response = client.get(f"/post/{post_id}")
    assert response.status_code == 200
    assert post_bodies(response) == ["Hello, world"]


def test_a_thread_reads_top_to_bottom_and_counts_its_replies(client, logged_in):
    question = write(client, "Which framework?")
    make_user("bob")
    bob = client.application.test_client()
    Auth(bob).login("bob")
    first = write(bob, "Flask, of course", f"/post/{question}")
    write(client, "Thanks!", f"/post/{question}")

    thread = client.get(f"/post/{question}")
    assert post_bodies(thread) == ["Which framework?", "Flask, of course", "Thanks!"]
    assert "2 replies" in page_text(thread)
    # A reply's page shows the post it answers above it.
    reply_page = client.get(f"/post/{first}")
    assert post_bodies(reply_page) == ["Which framework?", "Flask, of course"]
    assert "Replying to" in page_text(reply_page)
    # The list shows the count too, and replies appear in feeds like posts.
    explore = page_text(client.get("/explore"))
    assert "2 replies" in explore
    assert post_bodies(client.get("/explore"))[:2] == ["Thanks!", "Flask, of course"]


def test_replies_are_read_page_by_page_oldest_first(client, logged_in):
    question = write(client, "Count with me")
    for number in range(1, 8):
        write(client, f"reply {number}", f"/post/{question}")
    seen = []
    path = f"/post/{question}"
    while path:
        response = client.get(path)
        seen += post_bodies(response)[1:]
        path = link_to(page_text(response), "Later replies")
    assert seen == [f"reply {number}" for number in range(1, 8)]


def test_anyone_can_read_a_thread_and_only_members_can_answer(client, logged_in, auth):
    post_id = write(client, "Public post")
    auth.logout()
    response = client.get(f"/post/{post_id}")
    assert response.status_code == 200
    assert "Log in</a> to reply" in page_text(response)
    refused = client.post(f"/post/{post_id}", data={"body": "sneaky"})
    assert refused.status_code in (302, 400)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 1


@pytest.mark.parametrize("path", ["/post/0", "/post/99999", "/post/99999999999999999999"])
def test_a_post_that_does_not_exist_is_the_404_page(client, logged_in, path):
    for suffix in ("", "/edit", "/delete"):
        assert client.get(path + suffix).status_code == 404


def test_a_reply_that_is_refused_keeps_its_text_and_says_why(client, logged_in):
    post_id = write(client, "Short question")
    response = submit(client, f"/post/{post_id}", {"body": "x" * 141})
    assert response.status_code == 200
    assert "Field must be between 1 and 140 characters long." in page_text(response)
    assert "x" * 141 in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 1


# --- Editing -------------------------------------------------------------------------------


def test_an_author_edits_a_post_and_the_page_says_when(client, logged_in):
    post_id = write(client, "Helo #typo")
    path = f"/post/{post_id}/edit"
    response = submit(client, path, {"body": "Hello #fixed", "version": version_on(client, path)})
    assert response.status_code == 302
    page = page_text(client.get(f"/post/{post_id}"))
    assert "edited <time" in page
    assert post_bodies(client.get(f"/post/{post_id}")) == ["Hello #fixed"]
    assert tags_of(post_id) == {"fixed"}
    assert stored(post_id).version == 2


def test_the_second_of_two_tabs_is_told_and_shown_both_versions(client, logged_in):
    post_id = write(client, "Original")
    path = f"/post/{post_id}/edit"
    opened = version_on(client, path)
    assert submit(client, path, {"body": "First tab", "version": opened}).status_code == 302
    late = submit(client, path, {"body": "Second tab", "version": opened})
    assert late.status_code == 409
    page = page_text(late)
    assert "This post changed after you opened it" in page
    assert "First tab" in page and "Second tab" in page
    assert stored(post_id).body == "First tab"
    # Saving the conflict page's form again, having read the other version, is a
    # deliberate overwrite.
    [shown_version] = re.findall(r'name="version" value="(\d+)"', page)
    again = submit(client, path, {"body": "Second tab", "version": shown_version})
    assert again.status_code == 302
    assert stored(post_id).body == "Second tab"


def test_someone_elses_post_cannot_be_edited_or_deleted(client, logged_in):
    post_id = write(client, "Mine")
    make_user("mallory")
    mallory = client.application.test_client()
    Auth(mallory).login("mallory")
    for action in ("edit", "delete"):
        path = f"/post/{post_id}/{action}"
        assert mallory.get(path).status_code == 403
        attempt = submit(mallory, path, {"body": "Hijacked", "version": 1}, form_page="/index")
        assert attempt.status_code == 403
        assert "Only its author can change or delete a post." in page_text(attempt)
    assert stored(post_id).body == "Mine" and stored(post_id).deleted_at is None


def test_anonymous_visitors_are_sent_to_the_login_page(client, logged_in, auth):
    post_id = write(client, "Mine")
    auth.logout()
    for action in ("edit", "delete"):
        response = client.get(f"/post/{post_id}/{action}")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("version", ["", "abc", "0", "-1", "2147483648", "99999999999999999999"])
def test_a_forged_version_is_refused_and_changes_nothing(client, logged_in, version):
    post_id = write(client, "Stays")
    for action, data in (("edit", {"body": "Changed"}), ("delete", {})):
        path = f"/post/{post_id}/{action}"
        response = submit(client, path, {**data, "version": version})
        assert response.status_code == 400, action
        assert "Reload the page and try again." in page_text(response)
    assert stored(post_id).body == "Stays" and stored(post_id).version == 1


# --- Deleting ------------------------------------------------------------------------------


def test_deleting_asks_first_then_the_post_is_gone_everywhere(client, logged_in):
    post_id = write(client, "Regrettable #oops")
    path = f"/post/{post_id}/delete"
    confirmation = client.get(path)
    assert confirmation.status_code == 200
    assert "Delete this post?" in page_text(confirmation)
    assert stored(post_id).deleted_at is None  # looking at the question deletes nothing
    response = submit(client, path, {"version": version_on(client, path)})
    assert response.status_code == 302
    for page in ("/index", "/explore", f"/user/{logged_in.username}", "/tag/oops"):
        assert "Regrettable" not in page_text(client.get(page)), page
    assert client.get(f"/post/{post_id}").status_code == 404
    assert tags_of(post_id) == set()
    assert stored(post_id).body == ""


def test_replies_stay_under_a_placeholder_when_their_post_is_deleted(client, logged_in):
    post_id = write(client, "Question")
    reply_id = write(client, "Answer", f"/post/{post_id}")
    path = f"/post/{post_id}/delete"
    submit(client, path, {"version": version_on(client, path)})
    thread = client.get(f"/post/{post_id}")
    assert thread.status_code == 200
    assert "This post has been deleted." in page_text(thread)
    assert post_bodies(thread) == ["Answer"]
    assert "Replying to <a" in page_text(client.get(f"/post/{reply_id}"))
    assert "a deleted post" in page_text(client.get("/explore"))
    # A deleted post can no longer be answered, edited or deleted again.
    assert submit(client, f"/post/{post_id}", {"body": "Late"}).status_code == 404
    assert client.get(f"/post/{post_id}/edit").status_code == 404
    assert client.get(path).status_code == 404


def test_a_deleted_reply_leaves_the_count_of_its_post(client, logged_in):
    post_id = write(client, "Question")
    reply_id = write(client, "Answer", f"/post/{post_id}")
    assert "1 reply" in page_text(client.get("/explore"))
    path = f"/post/{reply_id}/delete"
    response = submit(client, path, {"version": version_on(client, path)})
    assert response.headers["Location"] == f"/post/{post_id}"
    assert "1 reply" not in page_text(client.get("/explore"))


def test_an_edit_after_the_delete_page_was_opened_stops_the_delete(client, logged_in):
    post_id = write(client, "Draft")
    delete_path, edit_path = f"/post/{post_id}/delete", f"/post/{post_id}/edit"
    opened = version_on(client, delete_path)
    submit(client, edit_path, {"body": "Rewritten", "version": version_on(client, edit_path)})
    response = submit(client, delete_path, {"version": opened})
    assert response.status_code == 409
    assert "Rewritten" in page_text(response)
    assert stored(post_id).deleted_at is None
    # Its Delete button, pressed having read the new text, deletes.
    [shown_version] = re.findall(r'name="version" value="(\d+)"', page_text(response))
    assert submit(client, delete_path, {"version": shown_version}).status_code == 302
    assert stored(post_id).deleted_at is not None


# --- Links, mentions and hashtags ----------------------------------------------------------


def test_links_names_and_tags_become_links_and_everything_else_stays_text(client, logged_in):
    make_user("bob")
    body = "See https://example.com/a/very/long/path/indeed?x=1 with @bob, @nobody and #Flask"
    post_id = write(client, body)
    page = page_text(client.get(f"/post/{post_id}"))
    assert (
        '<a href="https://example.com/a/very/long/path/indeed?x=1" rel="nofollow ugc noopener"'
        in page
    )
    assert ">example.com/a/very/long/path/in…</a>" in page
    assert '<a href="/user/bob">@bob</a>' in page
    assert "@nobody" in page and 'href="/user/nobody"' not in page
    assert '<a href="/tag/flask">#Flask</a>' in page
    assert stored(post_id).body == body  # what the author wrote is what is kept


def test_a_name_links_while_its_user_exists_however_often_the_post_was_shown(client, logged_in):
    post_id = write(client, "Waiting for @carol to join")
    assert 'href="/user/carol"' not in page_text(client.get(f"/post/{post_id}"))
    carol = make_user("carol")
    assert '<a href="/user/carol">@carol</a>' in page_text(client.get(f"/post/{post_id}"))
    carol.username = "caroline"
    db.session.commit()
    assert 'href="/user/carol"' not in page_text(client.get(f"/post/{post_id}"))


def test_a_reply_reaches_the_feeds_of_the_repliers_followers(client, logged_in):
    make_user("bob")
    bob = client.application.test_client()
    Auth(bob).login("bob")
    question = write(bob, "Bob asks")
    make_user("carol")
    carol = client.application.test_client()
    Auth(carol).login("carol")
    write(carol, "Carol answers", f"/post/{question}")
    follow(client, "carol")
    assert post_bodies(client.get("/index")) == ["Carol answers"]


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "javascript:alert(1) #x",
        "<a href=javascript:alert(1)>click</a>",
        "control \x01\x07\x1b[31m characters \u202e reversed",
        "@" * 140,
        "#" * 140,
        "@a" * 70,
        "#a" * 70,
        "&lt;b&gt; &amp; &#60;",
    ],
)
def test_hostile_text_is_shown_as_the_text_it_is(client, logged_in, body):
    post_id = write(client, body)
    for path in (f"/post/{post_id}", "/explore"):
        response = client.get(path)
        assert response.status_code == 200
        assert post_bodies(response)[0] == body
        assert "<script>" not in page_text(response).split("</nav>", 1)[1]
        assert 'href="javascript:' not in page_text(response)


@pytest.mark.parametrize(
    "body",
    [
        'https://example.com/"><script>alert(1)</script>',
        'https://example.com/"onmouseover=alert(1) x',
        "https://" * 17,
        "http://<b>bold</b>.example.com",
        "https://exa mple.com https://xn--80ak6aa92e.com/ https://пример.рф/путь",
    ],
)
def test_hostile_links_stay_inside_their_attribute(client, logged_in, body):
    post_id = write(client, body)
    page = page_text(client.get(f"/post/{post_id}"))
    shown = page.split("</nav>", 1)[1]
    assert "<script>" not in shown and "<b>" not in shown and " onmouseover=" not in shown
    for href in re.findall(r'<a href="([^"]*)" rel="nofollow ugc noopener"', shown):
        assert href.startswith(("http://", "https://")), href


@pytest.mark.parametrize("flood", ["@" * 10_000, "#" * 10_000, "https://" * 1_250])
def test_a_flood_of_marks_is_refused_with_the_length_rule(client, logged_in, flood):
    for path in ("/index", f"/post/{write(client, 'target')}"):
        response = submit(client, path, {"body": flood})
        assert response.status_code == 200
        assert "Field must be between 1 and 140 characters long." in page_text(response)


def test_a_tag_page_lists_its_posts_newest_first_page_by_page(client, logged_in):
    for number in range(1, 6):
        write(client, f"post {number} #Python")
    write(client, "unrelated #rust")
    seen, path = [], "/tag/python"
    while path:
        response = client.get(path)
        assert response.status_code == 200
        seen += post_bodies(response)
        path = link_to(page_text(response), "Older posts")
    assert seen == [f"post {number} #Python" for number in range(5, 0, -1)]
    # Tags are matched without regard to case.
    assert post_bodies(client.get("/tag/PYTHON"))[0] == "post 5 #Python"


@pytest.mark.parametrize("tag", ["nothing", "x" * 65, "%F0%9F%92%A9", "a%20b", "%E2%80%AE"])
def test_a_tag_without_posts_is_an_empty_page_or_a_404(client, tag):
    response = client.get(f"/tag/{tag}")
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert "No posts with this hashtag yet." in page_text(response)


# --- Rate limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_WRITING": "3 per minute"}])
def test_writing_is_limited_per_user_on_every_way_to_write(client, logged_in):
    post_id = write(client, "one")
    write(client, "two", f"/post/{post_id}")
    path = f"/post/{post_id}/edit"
    edited = submit(client, path, {"body": "1", "version": version_on(client, path)})
    assert edited.status_code == 302
    for attempt_path, data in (
        ("/index", {"body": "four"}),
        (f"/post/{post_id}", {"body": "reply"}),
        (path, {"body": "x", "version": version_on(client, path)}),
        (f"/post/{post_id}/delete", {"version": version_on(client, path)}),
    ):
        response = submit(client, attempt_path, data)
        assert response.status_code == 429, attempt_path
        assert "You are posting faster than this site allows." in page_text(response)
    # Reading is never limited.
    assert client.get(f"/post/{post_id}").status_code == 200


# --- Races ---------------------------------------------------------------------------------


def post_of_alice(app, body: str) -> int:
    """A new account, alice, with one post; the post's id."""
    with app.app_context():
        author = make_user("alice")
        post_id = Post.publish(body, author.id).id
        db.session.commit()
    return post_id


@pytest.mark.both_databases
def test_racing_edits_and_deletes_from_16_sessions_never_fail_or_lose_a_row(file_app):
    """One person's 16 tabs save or delete one post, all opened on its first version."""
    post_id = post_of_alice(file_app, "Original #start")
    clients, token = tabs_of_one_person(file_app, 16, f"/post/{post_id}/edit")

    def save_or_delete(index: int) -> int:
        action, data = ("delete", {}) if index % 4 == 0 else ("edit", {"body": f"Tab {index}"})
        data = {"csrf_token": token, "version": "1", **data}
        return clients[index].post(f"/post/{post_id}/{action}", data=data).status_code

    statuses = run_together(len(clients), save_or_delete)

    # Exactly one save or deletion found version 1; every other was refused, unharmed.
    assert sorted(statuses).count(302) == 1, statuses
    assert all(status in (302, 404, 409) for status in statuses), statuses
    with file_app.app_context():
        rows = db.session.execute(sa.select(Post.body, Post.version, Post.deleted_at)).all()
        assert len(rows) == 1
        (body, version, deleted_at), winner = rows[0], statuses.index(302)
        assert version == 2
        if winner % 4 == 0:
            assert deleted_at is not None and body == "" and tags_of(post_id) == set()
        else:
            assert body == f"Tab {winner}" and deleted_at is None and tags_of(post_id) == set()


@pytest.mark.both_databases
def test_racing_replies_to_one_post_are_all_kept_once(file_app):
    post_id = post_of_alice(file_app, "Ask me anything")
    clients, token = tabs_of_one_person(file_app, 16, f"/post/{post_id}")

    def reply(index: int) -> int:
        data = {"csrf_token": token, "body": f"Reply {index} #thread"}
        return clients[index].post(f"/post/{post_id}", data=data).status_code

    assert run_together(len(clients), reply) == [302] * 16
    with file_app.app_context():
        replies = db.session.scalars(sa.select(Post.body).where(Post.reply_to_id == post_id))
        assert sorted(replies) == sorted(f"Reply {index} #thread" for index in range(16))
        tagged = db.session.scalar(sa.select(sa.func.count()).select_from(post_tags))
        assert tagged == 16


# --- Migration 0006 -------------------------------------------------------------------------


@pytest.mark.both_databases
def test_migration_0006_tags_existing_posts_and_downgrades_without_deleted_ones(
    make_app, empty_database_url
):
    from flask_migrate import downgrade, upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (id, username, email, password_hash, session_token) '
                    "VALUES (1, 'alice', 'alice@example.com', 'x', 't')"
                )
            )
            for body in ("Old post about #Flask and #SQL", "No tags", "Another #flask"):
                connection.execute(
                    sa.text(
                        "INSERT INTO post (body, timestamp, user_id) VALUES (:body, :moment, 1)"
                    ),
                    {"body": body, "moment": utcnow()},
                )

        upgrade()

        first, second, third = db.session.scalars(sa.select(Post).order_by(Post.id)).all()
        assert (first.version, first.reply_to_id, first.deleted_at) == (1, None, None)
        assert tags_of(first.id) == {"flask", "sql"} and tags_of(second.id) == set()
        assert tags_of(third.id) == {"flask"}
        reply = Post.publish("An answer", 1, reply_to=second)
        assert first.delete(1) and second.delete(1)
        db.session.commit()
        reply_id, third_id = reply.id, third.id
        db.session.remove()

        downgrade(revision="0005")

        with db.engine.connect() as connection:
            bodies = connection.execute(sa.text("SELECT id, body FROM post ORDER BY id")).all()
            assert [tuple(row) for row in bodies] == [
                (third_id, "Another #flask"),
                (reply_id, "An answer"),
            ]
            assert "post_tag" not in sa.inspect(connection).get_table_names()
        db.engine.dispose()
