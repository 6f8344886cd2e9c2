"""Delete my account: the confirmation, one job, all or nothing, and the requests racing it.

The jobs run in the app's thread (``jobs_app``, a database file); the database
decides most of it (cascades, the lock, foreign keys, the partial unique index),
so most tests run on both backends.
"""

import dataclasses
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.account_data import deletion, owned
from app.account_data.owned import OWNED
from app.api.tokens import ApiToken
from app.auth import password_reset
from app.auth.sessions import LoginSession
from app.extensions import db
from app.jobs.models import ACCOUNT_DELETION, EXPORT, Job
from app.messages.conversations import send_message
from app.models import (
    Conversation,
    ConversationMember,
    Message,
    Notification,
    Post,
    User,
    blocks,
    followers,
    post_tags,
)
from testkit.api_clients import bearer, obtain_token
from testkit.apps import log_text
from testkit.clients import (
    PASSWORD,
    Auth,
    follow,
    is_logged_in,
    make_user,
    page_text,
    run_together,
    submit,
    tabs_of_one_person,
)
from testkit.services.processes import free_port, wait_until
from testkit.services.smtp import SmtpSink, body_of, context_of

DELETE_PAGE = "/account/delete"


def ask_for_deletion(client: FlaskClient, password: str = PASSWORD):
    return submit(client, DELETE_PAGE, {"password": password})


def user_id_of(app: Flask, username: str) -> int | None:
    with app.app_context():
        user = User.by_username(username)
        return user.id if user else None


def account_is_gone(app: Flask, username: str, seconds: float = 30) -> bool:
    return wait_until(lambda: user_id_of(app, username) is None, seconds)


def rows_of(app: Flask, user_id: int) -> dict[str, int]:
    """How many rows of each table refer to the account."""
    with app.app_context():
        count = lambda table, *where: db.session.scalar(  # noqa: E731
            sa.select(sa.func.count()).select_from(table).where(*where)
        )
        return {
            "user": count(User.__table__, User.id == user_id),
            "post": count(Post.__table__, Post.user_id == user_id),
            "followers": count(
                followers,
                (followers.c.follower_id == user_id) | (followers.c.followed_id == user_id),
            ),
            "login_session": count(LoginSession.__table__, LoginSession.user_id == user_id),
            "api_token": count(ApiToken.__table__, ApiToken.user_id == user_id),
            "job": count(Job.__table__, Job.user_id == user_id),
            "conversation": count(
                Conversation.__table__,
                (Conversation.user_low_id == user_id) | (Conversation.user_high_id == user_id),
            ),
            "conversation_member": count(
                ConversationMember.__table__,
                (ConversationMember.user_id == user_id) | (ConversationMember.other_id == user_id),
            ),
            "message": count(Message.__table__, Message.sender_id == user_id),
            "notification": count(
                Notification.__table__,
                (Notification.user_id == user_id) | (Notification.actor_id == user_id),
            ),
            "block": count(
                blocks, (blocks.c.blocker_id == user_id) | (blocks.c.blocked_id == user_id)
            ),
        }


def seed(app: Flask) -> dict[str, int]:
    """alice with posts (a tagged one, a reply to bob, a reply to herself), follows both
    ways, conversations with bob (both ways) and carol (carol's only), a block of dave
    and one of her by carol; bob replied to her and wrote to carol. The ids of what the
    test looks at."""
    with app.app_context():
        alice, bob, carol, dave = (make_user(name) for name in ("alice", "bob", "carol", "dave"))
        tagged = Post.publish("Sowing #parsnips today", alice.id)
        bobs = Post.publish("Anyone for bread?", bob.id)
        Post.publish("Me!", alice.id, reply_to=bobs)
        Post.publish("And me again", alice.id, reply_to=tagged)
        bobs_reply = Post.publish("Good luck with them", bob.id, reply_to=tagged)
        alice.follow(bob)
        bob.follow(alice)
        send_message(alice.id, bob.id, None, "Seeds for you, Bob?", "a" * 22)
        send_message(bob.id, alice.id, None, "Yes please!", "b" * 22)
        send_message(carol.id, alice.id, None, "Hello from Carol", "c" * 22)
        send_message(bob.id, carol.id, None, "Bob to Carol", "d" * 22)
        alice.block(dave)
        carol.block(alice)
        db.session.commit()
        return {
            "alice": alice.id,
            "bob": bob.id,
            "carol": carol.id,
            "bobs_reply": bobs_reply.id,
            "bobs": bobs.id,
        }


def test_every_table_that_refers_to_an_account_is_in_the_list_of_what_it_owns(app):
    referring = {
        table.name
        for table in db.metadata.sorted_tables
        for key in table.foreign_keys
        if key.column.table is User.__table__
    }
    listed = {name for entry in OWNED for name in entry.tables}
    assert referring == listed, "a table refers to user: add it to app/account_data/owned.py"


def test_the_confirmation_says_what_will_be_removed_and_asks_for_the_password(jobs_app):
    seed(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    page = page_text(client.get(DELETE_PAGE))
    assert "Delete your account?" in page
    assert "<strong>Your posts and replies</strong> (3)." in page
    assert "Replies others wrote to them stay, as posts of their own." in page
    assert "<strong>The people you follow</strong> (1)." in page
    assert "<strong>Your followers</strong> (1)." in page
    assert "<strong>The browsers signed in to your account</strong> (1)." in page
    # Sent and received, in both of her conversations; the messages told her of them.
    assert "<strong>Your private messages</strong> (3)." in page
    assert "<strong>Your notifications</strong> (2)." in page
    # Her own block of dave; carol's block of her is never shown to her.
    assert "<strong>The people you blocked</strong> (1)." in page
    assert "The name alice becomes free for anyone to take" in page
    assert 'autocomplete="current-password"' in page
    assert "Delete my account" in page
    assert "/account/delete" in page_text(client.get("/edit_profile"))


def test_a_wrong_password_deletes_nothing(jobs_app):
    ids = seed(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    before = rows_of(jobs_app, ids["alice"])
    refused = ask_for_deletion(client, "not my password")
    assert refused.status_code == 200
    assert "Your password is not correct." in page_text(refused)
    assert rows_of(jobs_app, ids["alice"]) == before
    assert is_logged_in(client)


@pytest.mark.both_databases
def test_deleting_an_account_removes_all_it_owns_signs_it_out_everywhere_and_frees_the_name(
    jobs_app, smtp: SmtpSink
):
    ids = seed(jobs_app)
    here, elsewhere = jobs_app.test_client(), jobs_app.test_client()
    Auth(here).login("alice")
    Auth(elsewhere).login("alice")
    token = obtain_token(jobs_app.test_client())
    assert submit(here, "/account/export", {}).status_code == 302
    assert wait_until(lambda: exports(jobs_app), 30)
    [export_file] = exports(jobs_app)

    asked = ask_for_deletion(here)
    assert (asked.status_code, asked.headers["Location"]) == (302, "/login")
    assert "Your account is being deleted." in page_text(here.get("/login"))
    assert account_is_gone(jobs_app, "alice")

    assert set(rows_of(jobs_app, ids["alice"]).values()) == {0}
    # Only bob's conversation with carol is left, whole.
    with jobs_app.app_context():
        left = db.session.execute(sa.select(Message.sender_id, Message.body)).all()
        assert left == [(ids["bob"], "Bob to Carol")]
        sides = db.session.scalars(sa.select(ConversationMember.user_id)).all()
        assert sorted(sides) == sorted([ids["bob"], ids["carol"]])
        told = db.session.execute(sa.select(Notification.user_id, Notification.kind)).all()
        assert told == [(ids["carol"], "message")]
    assert jobs_app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert not is_logged_in(here)
    assert not is_logged_in(elsewhere)
    assert not export_file.exists()
    with jobs_app.app_context():
        # bob's reply to her post stays, a post of its own; her hashtags are gone.
        assert db.session.get(Post, ids["bobs_reply"]).reply_to_id is None
        assert db.session.get(Post, ids["bobs"]) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(post_tags)) == 0
    found = page_text(jobs_app.test_client().get("/search?q=parsnips"))
    assert "Sowing" not in found

    deleted = [m for m in smtp.inbox.wait_for(2) if m["Subject"] == deletion.DELETED_SUBJECT]
    assert [m["To"] for m in deleted] == ["alice@example.com"]
    assert "3 posts and replies, 3 private messages" in body_of(deleted[0].get_body(("plain",)))
    # The name is free again, for anyone.
    assert (
        Auth(jobs_app.test_client()).register("alice", email="new@example.com").status_code == 302
    )


def job_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Job.id))


def exports(app: Flask) -> list[Path]:
    with app.app_context():
        return owned.export_files(User.by_username("alice").id)


@pytest.mark.both_databases
def test_a_deletion_asked_from_two_tabs_at_once_is_one_job(jobs_app, smtp: SmtpSink):
    ids = seed(jobs_app)
    tabs, token = tabs_of_one_person(jobs_app, 4, DELETE_PAGE)
    replies = run_together(
        4, lambda i: tabs[i].post(DELETE_PAGE, data={"csrf_token": token, "password": PASSWORD})
    )
    assert account_is_gone(jobs_app, "alice")
    # Every tab is sent to the sign-in page: started, already started, or signed out.
    assert [(r.status_code, r.headers["Location"]) for r in replies] == [(302, "/login")] * 4
    assert rows_of(jobs_app, ids["alice"])["user"] == 0
    # One job ran, and one last email went out.
    assert log_text(jobs_app).count("Job started: delete_account") == 1
    farewells = smtp.inbox.settle(0.5)
    assert [m["Subject"] for m in farewells].count(deletion.DELETED_SUBJECT) == 1


def test_nobody_signs_in_to_an_account_being_deleted(make_app, smtp, tmp_path):
    """A deletion the queue cannot deliver yet (Redis away) stays queued: the account is
    closed meanwhile, to its password and to a reset link alike."""
    app = make_app(
        mail_port=smtp.port,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.db'}",
        JOBS_QUEUE_URL=f"redis://127.0.0.1:{free_port()}/0",
        SITE_URL="https://blog.example.com",
    )
    with app.app_context():
        db.create_all()
        make_user("alice")
    client = app.test_client()
    Auth(client).login("alice")
    assert ask_for_deletion(client).status_code == 302
    with app.app_context():
        [job] = db.session.scalars(sa.select(Job)).all()
        assert (job.kind, job.state) == (ACCOUNT_DELETION, "queued")

    refused = Auth(client).login("alice")
    assert (refused.status_code, refused.headers["Location"]) == (302, "/login")
    assert "This account is being deleted" in page_text(client.get("/login"))
    assert not is_logged_in(client)

    with app.test_request_context():
        token = password_reset.make_token(User.by_username("alice"))
    reset = client.get(f"/reset_password/{token}")
    assert (reset.status_code, reset.headers["Location"]) == (302, "/login")


# --- All or nothing ----------------------------------------------------------------------


@pytest.fixture
def failing_last_removal():
    """The last removal of the deletion's transaction fails, ``failures["left"]`` times."""
    failures = {"left": 0}
    last = OWNED[-1]

    def remove(user_id: int) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("disk full")
        last.remove(user_id)

    OWNED[-1] = dataclasses.replace(last, remove=remove)
    yield failures
    OWNED[-1] = last


@pytest.mark.both_databases
def test_a_deletion_that_fails_part_way_leaves_the_account_whole_then_completes(
    jobs_app, failing_last_removal
):
    ids = seed(jobs_app)
    failing_last_removal["left"] = 1
    client = jobs_app.test_client()
    Auth(client).login("alice")
    before = rows_of(jobs_app, ids["alice"])
    ask_for_deletion(client)
    assert account_is_gone(jobs_app, "alice")
    assert failing_last_removal["left"] == 0
    assert before["post"] == 3
    assert rows_of(jobs_app, ids["alice"])["post"] == 0


@pytest.mark.both_databases
@pytest.mark.parametrize("job_settings", [{"JOB_MAX_ATTEMPTS": 2}])
def test_a_deletion_that_keeps_failing_leaves_the_account_whole_and_says_so(
    jobs_app, smtp: SmtpSink, failing_last_removal
):
    ids = seed(jobs_app)
    failing_last_removal["left"] = 2
    client = jobs_app.test_client()
    Auth(client).login("alice")
    before = rows_of(jobs_app, ids["alice"])
    ask_for_deletion(client)

    def failed() -> bool:
        with jobs_app.app_context():
            return db.session.scalar(sa.select(Job.state)) == "failed"

    assert wait_until(failed, 30)
    after = rows_of(jobs_app, ids["alice"])
    # Whole but for what the request itself did: the sign-outs, and the failed job's row.
    assert after == before | {"login_session": 0, "job": 1}
    # The second failure is a repeat of the first: storm control keeps it for a digest.
    messages = smtp.inbox.wait_for(2)
    assert sorted(message["Subject"] for message in messages) == [
        "Microblog Failure: RuntimeError in job delete_account",
        deletion.NOT_DELETED_SUBJECT,
    ]
    [report] = [m for m in messages if m["Subject"].startswith("Microblog Failure")]
    assert context_of(report)["Job"] == f"job-{job_id(jobs_app)} (delete_account)"
    assert context_of(report)["Attempt"] == "1 of 2"
    # Signed in again as before: the account is no longer being deleted.
    assert Auth(client).login("alice").headers["Location"] == "/index"


# --- Requests racing the deletion ----------------------------------------------------------


def delete_meanwhile(app: Flask, user_id: int) -> None:
    """Delete the account from another thread (a worker) while this request is under way."""

    def remove() -> None:
        with app.app_context():
            deletion.remove_account(user_id, app.logger)
            db.session.remove()

    worker = threading.Thread(target=remove)
    worker.start()
    worker.join()


class Race:
    """Deletes an account from another thread at a chosen moment of a request."""

    def __init__(self, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app = app
        self.monkeypatch = monkeypatch
        self.at_start: int | None = None
        # First of all the hooks, so that it strikes before any of them writes; it loads
        # the request's user first, as any page does.
        app.before_request_funcs.setdefault(None, []).insert(0, self.strike_at_start)

    def strike_at_start(self) -> None:
        from flask_login import current_user

        if self.at_start is not None and current_user.is_authenticated:
            user_id, self.at_start = self.at_start, None
            delete_meanwhile(self.app, user_id)

    def as_request_starts(self, username: str) -> None:
        """The next request's user is loaded, then its account deleted."""
        self.at_start = user_id_of(self.app, username)

    def within(self, owner: type, method: str, username: str) -> None:
        """The account is deleted just before ``owner.method`` runs (once)."""
        user_id = user_id_of(self.app, username)
        original = getattr(owner, method)
        struck: list[bool] = []

        def strike_then_run(*args, **kwargs):
            if not struck:
                struck.append(True)
                delete_meanwhile(self.app, user_id)
            return original(*args, **kwargs)

        self.monkeypatch.setattr(owner, method, strike_then_run)


@pytest.fixture
def race(jobs_app, monkeypatch) -> Race:
    return Race(jobs_app, monkeypatch)


@pytest.mark.both_databases
def test_a_post_sent_as_the_account_is_deleted_signs_out_instead_of_failing(jobs_app, race):
    seed(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    race.within(Post, "publish", "alice")
    response = submit(client, "/index", {"body": "One last word"}, form_page="/edit_profile")
    assert (response.status_code, response.headers["Location"]) == (302, "/login")
    assert "Your account has been deleted." in page_text(client.get("/login"))
    with jobs_app.app_context():
        assert db.session.scalar(sa.select(Post).where(Post.body == "One last word")) is None


@pytest.mark.both_databases
def test_an_edit_in_flight_as_the_account_is_deleted_signs_out_instead_of_failing(jobs_app, race):
    seed(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    with jobs_app.app_context():
        post = db.session.scalar(sa.select(Post).where(Post.body == "Me!"))
        post_id, version = post.id, post.version
    race.within(Post, "edit", "alice")
    response = submit(client, f"/post/{post_id}/edit", {"body": "Edited", "version": version})
    assert (response.status_code, response.headers["Location"]) == (302, "/login")


@pytest.mark.both_databases
def test_a_page_whose_user_goes_while_it_is_built_signs_out_instead_of_failing(jobs_app, race):
    seed(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    # Its last-seen time is due again: the page writes to the account's row.
    with jobs_app.app_context():
        db.session.execute(sa.update(User).values(last_seen=None))
        db.session.commit()
    race.as_request_starts("alice")
    response = client.get("/user/bob")
    assert (response.status_code, response.headers["Location"]) == (302, "/login")
    assert "Your account has been deleted." in page_text(client.get("/login"))


@pytest.mark.both_databases
def test_following_an_account_as_it_is_deleted_is_the_404_page(jobs_app, race):
    seed(jobs_app)
    with jobs_app.app_context():
        make_user("erin")
    erin = jobs_app.test_client()
    Auth(erin).login("erin")
    race.within(User, "follow", "alice")
    response = follow(erin, "alice")
    assert response.status_code == 404
    assert "it was deleted meanwhile" in page_text(response)
    assert is_logged_in(erin)


def test_an_integrity_error_of_another_kind_is_still_a_500(make_app):
    app = make_app()

    @app.route("/duplicate")
    def duplicate() -> str:
        make_user("twin")
        make_user("twin")
        return "never"

    response = app.test_client().get("/duplicate")
    assert response.status_code == 500


def test_an_export_under_way_stops_when_its_account_is_deleted(jobs_app):
    """Two workers: one has claimed an export, the other deletes the account."""
    from app.account_data import export
    from app.jobs.kinds import JobLost, RunningJob
    from app.jobs.runner import claim, context_of, run

    ids = seed(jobs_app)
    with jobs_app.app_context():
        db.session.add(Job(kind=EXPORT, user_id=ids["alice"], max_attempts=1))
        db.session.commit()
        context = context_of(claim(db.session.scalar(sa.select(Job.id))))
        delete_meanwhile(jobs_app, ids["alice"])
        # Its next progress report is refused, and the run ends quietly.
        with pytest.raises(JobLost):
            RunningJob(context).progress(1, 2)
        assert run(jobs_app, export.KIND, context) == "lost"
    assert list(Path(jobs_app.config["EXPORT_DIR"]).glob("*")) == []
