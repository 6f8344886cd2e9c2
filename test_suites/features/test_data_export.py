"""Export my data: the job, its progress, the file (its documented format), the download.

The jobs run in the app's thread (``jobs_app``), on a database file, as in the
README's one-command setup; the scale-out check and test_suites/system/test_jobs.py
run them on RQ with a real worker process.
"""

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.database import utcnow
from app.extensions import db
from app.jobs.models import DONE, EXPORT, RUNNING, Job
from app.messages.conversations import send_message
from app.models import Post, User
from testkit.clients import Auth, make_user, page_text, run_together, submit, tabs_of_one_person
from testkit.services.processes import wait_until
from testkit.services.smtp import SmtpSink, body_of

EXPORT_PAGE = "/account/export"


def start_export(client: FlaskClient):
    return submit(client, EXPORT_PAGE, {})


def export_status(client: FlaskClient) -> dict:
    response = client.get(f"{EXPORT_PAGE}/status")
    assert response.status_code == 200
    return response.get_json()


def finished_export(client: FlaskClient, seconds: float = 30) -> dict:
    """The status of the person's export once it has finished (done or failed)."""
    status = wait_until(lambda: (found := export_status(client))["finished"] and found, seconds)
    assert status, export_status(client)
    return status


def download_status(client: FlaskClient, download: str) -> int:
    """The status of a download, its file closed (the test client leaves it open)."""
    response = client.get(download)
    response.close()
    return response.status_code


def exported_files(client: FlaskClient, download: str) -> dict[str, object]:
    response = client.get(download)
    data = response.get_data()
    response.close()
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"].startswith(
        "attachment; filename=microblog-alice-"
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: json.loads(archive.read(name)) for name in archive.namelist()}


def seed_alice_and_her_circle(app: Flask) -> None:
    """alice: two posts (one tagged), a reply to bob, bob's reply to her; follows both ways;
    messages with bob (both ways) and from carol; a block of dave."""
    with app.app_context():
        alice, bob, carol, dave = (make_user(name) for name in ("alice", "bob", "carol", "dave"))
        alice.about_me = "Gardens and bread"
        first = Post.publish("Sowing #parsnips today", alice.id)
        bobs = Post.publish("Anyone for bread?", bob.id)
        Post.publish("Me, @bob!", alice.id, reply_to=bobs)
        Post.publish("Good luck with them", bob.id, reply_to=first)
        deleted = Post.publish("Never mind this one", alice.id)
        db.session.commit()
        deleted.delete(deleted.version)
        alice.follow(bob)
        carol.follow(alice)
        bob.follow(alice)
        send_message(alice.id, bob.id, None, "Seeds for you, Bob?", "a" * 22)
        send_message(carol.id, alice.id, None, "Hello from Carol", "c" * 22)
        send_message(bob.id, alice.id, None, "Yes please!", "b" * 22)
        send_message(bob.id, carol.id, None, "Not for alice", "d" * 22)
        alice.block(dave)
        db.session.commit()


@pytest.mark.both_databases
def test_an_export_holds_the_profile_posts_follows_messages_and_sign_ins_as_documented(
    jobs_app, smtp: SmtpSink
):
    seed_alice_and_her_circle(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    started = start_export(client)
    assert (started.status_code, started.headers["Location"]) == (302, EXPORT_PAGE)

    status = finished_export(client)
    assert status["state"] == "done"
    assert status["percent"] == 100
    files = exported_files(client, status["download"])

    assert sorted(files) == [
        "blocked.json",
        "export.json",
        "followers.json",
        "following.json",
        "messages.json",
        "posts.json",
        "profile.json",
        "sign_ins.json",
    ]
    manifest = files["export.json"]
    assert manifest["format"] == "microblog-export"
    assert manifest["version"] == 1
    assert manifest["username"] == "alice"
    assert manifest["files"] == {
        "profile.json": 1,
        "posts.json": 2,
        "following.json": 1,
        "followers.json": 2,
        "messages.json": 3,
        "blocked.json": 1,
        "sign_ins.json": 1,
    }
    assert files["profile.json"] == {
        "username": "alice",
        "email": "alice@example.com",
        "about_me": "Gardens and bread",
        "last_seen": files["profile.json"]["last_seen"],
    }
    posts = files["posts.json"]
    assert [(post["body"], post["tags"]) for post in posts] == [
        ("Sowing #parsnips today", ["parsnips"]),
        ("Me, @bob!", []),
    ]
    assert posts[0]["reply_to"] is None
    assert posts[1]["reply_to"]["author"] == "bob"
    assert files["following.json"] == [{"username": "bob"}]
    assert sorted(person["username"] for person in files["followers.json"]) == ["bob", "carol"]
    # A conversation after the other (the order of their first message), oldest first.
    assert [(m["with"], m["sent"], m["body"]) for m in files["messages.json"]] == [
        ("bob", True, "Seeds for you, Bob?"),
        ("bob", False, "Yes please!"),
        ("carol", False, "Hello from Carol"),
    ]
    assert all(m["timestamp"].endswith("+00:00") for m in files["messages.json"])
    assert files["blocked.json"] == [{"username": "dave"}]
    [sign_in] = files["sign_ins.json"]
    assert sign_in["browser"].startswith("Werkzeug/")
    assert sign_in["address"] == "127.0.0.1"

    [archive] = Path(jobs_app.config["EXPORT_DIR"]).iterdir()
    assert archive.stat().st_mode & 0o777 == 0o600  # personal data: the site's user only
    assert archive.parent.stat().st_mode & 0o777 == 0o700

    [email] = smtp.inbox.wait_for(1)
    assert email["To"] == "alice@example.com"
    assert email["Subject"] == "Your Microblog data export is ready"
    assert "https://blog.example.com/account/export" in body_of(email.get_body(("plain",)))


def test_the_export_page_shows_the_job_as_it_stands_without_javascript(jobs_app):
    seed_alice_and_her_circle(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    first = page_text(client.get(EXPORT_PAGE))
    assert "You have not exported your data yet." in first
    # What the file holds, as the page says it: every list it writes (docs/jobs.md).
    assert "your private messages" in first and "the people you blocked" in first

    # A job under way, as a runner leaves it between two batches.
    with jobs_app.app_context():
        alice = User.by_username("alice")
        job = Job(kind=EXPORT, user_id=alice.id, state=RUNNING, attempts=1, max_attempts=3)
        job.done, job.total = 3, 4
        db.session.add(job)
        db.session.commit()
    page = page_text(client.get(EXPORT_PAGE))
    assert 'data-active="true"' in page
    assert '<progress id="export-progress"' in page
    assert 'value="75"' in page
    assert "Writing your export." in page
    assert "Refresh this page" in page
    assert 'value="Export my data"' not in page  # no second export while one is made
    assert export_status(client) | {"download": None} == {
        "state": "running",
        "percent": 75,
        "message": "Writing your export.",
        "finished": False,
        "download": None,
    }


@pytest.mark.both_databases
def test_an_export_asked_from_two_tabs_at_once_is_one_job(jobs_app):
    with jobs_app.app_context():
        make_user("alice")
    tabs, token = tabs_of_one_person(jobs_app, 4, EXPORT_PAGE)
    replies = run_together(4, lambda i: tabs[i].post(EXPORT_PAGE, data={"csrf_token": token}))

    assert [reply.status_code for reply in replies] == [302] * 4
    with jobs_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
    finished_export(tabs[0])
    again = start_export(tabs[0])
    assert again.status_code == 302  # once done, a new export may start


@pytest.mark.both_databases
def test_a_tab_that_lost_the_race_to_a_job_over_by_now_is_told_it_is_under_way(
    jobs_app, monkeypatch
):
    """The loser of the race learns it lost only after the winner's job has ended (the
    winner's thread ran it meanwhile): still one job, and the loser's page, not a 500."""
    with jobs_app.app_context():
        alice = make_user("alice")
        db.session.add(Job(kind=EXPORT, user_id=alice.id, max_attempts=3))
        db.session.commit()
    client = jobs_app.test_client()
    Auth(client).login("alice")
    rollback = db.session.rollback

    def rollback_as_the_winner_finishes() -> None:
        rollback()
        with db.engine.begin() as connection:
            connection.execute(sa.update(Job).values(state=DONE))

    monkeypatch.setattr(db.session, "rollback", rollback_as_the_winner_finishes)
    reply = start_export(client)
    monkeypatch.undo()

    assert (reply.status_code, reply.headers["Location"]) == (302, EXPORT_PAGE)
    assert "An export of your data is already being made." in page_text(client.get(EXPORT_PAGE))
    with jobs_app.app_context():
        assert db.session.scalars(sa.select(Job.state)).all() == [DONE]


@pytest.mark.both_databases
def test_the_database_refuses_a_second_job_of_a_kind_under_way(jobs_app):
    with jobs_app.app_context():
        alice = make_user("alice")
        db.session.add(Job(kind=EXPORT, user_id=alice.id, max_attempts=3))
        db.session.commit()
        db.session.add(Job(kind=EXPORT, user_id=alice.id, max_attempts=3, state=RUNNING))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        # Finished ones do not count: any number of them may stay.
        db.session.add(Job(kind=EXPORT, user_id=alice.id, max_attempts=3, state=DONE))
        db.session.add(Job(kind=EXPORT, user_id=alice.id, max_attempts=3, state="failed"))
        db.session.commit()


# The jobs' thread looks for upkeep every half JOB_STALL_SECONDS.
@pytest.mark.parametrize("job_settings", [{"JOB_STALL_SECONDS": 1}])
def test_an_export_is_downloaded_by_its_owner_only_and_only_for_a_while(jobs_app):
    seed_alice_and_her_circle(jobs_app)
    alice, bob, anonymous = (jobs_app.test_client() for _ in range(3))
    Auth(alice).login("alice")
    Auth(bob).login("bob")
    start_export(alice)
    download = finished_export(alice)["download"]
    assert download_status(alice, download) == 200

    assert download_status(bob, download) == 404
    assert download_status(anonymous, download) == 302  # to the sign-in page
    assert download_status(bob, "/account/export/99999999999999/download") == 404

    with jobs_app.app_context():
        job = db.session.scalar(sa.select(Job))
        path = Path(jobs_app.config["EXPORT_DIR"]) / job.file_name
        job.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert download_status(alice, download) == 404
    status = export_status(alice)
    assert status["download"] is None
    assert status["message"] == "The download time of your last export is over: make a new one."
    # The next round of the jobs' upkeep removes the file.
    assert wait_until(lambda: not path.exists(), 30)


def test_a_new_export_replaces_the_file_of_the_last(jobs_app):
    seed_alice_and_her_circle(jobs_app)
    client = jobs_app.test_client()
    Auth(client).login("alice")
    start_export(client)
    first = finished_export(client)["download"]
    start_export(client)
    second = finished_export(client)["download"]
    assert first != second
    assert download_status(client, first) == 404
    assert download_status(client, second) == 200
    assert len(list(Path(jobs_app.config["EXPORT_DIR"]).iterdir())) == 1


@pytest.mark.parametrize("job_settings", [{"EXPORT_BATCH_SIZE": 2}])
def test_an_export_is_written_in_batches_that_each_report_progress(jobs_app):
    with jobs_app.app_context():
        alice = make_user("alice")
        for number in range(7):
            Post.publish(f"Post {number}", alice.id)
        db.session.commit()
        engine = db.engine
    client = jobs_app.test_client()
    Auth(client).login("alice")
    progress_reports = []

    def note_progress(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE job SET done"):
            progress_reports.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note_progress)
    try:
        start_export(client)
        status = finished_export(client)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note_progress)
    posts = exported_files(client, status["download"])["posts.json"]
    assert [post["body"] for post in posts] == [f"Post {number}" for number in range(7)]
    # The profile; 7 posts, two at a time; the one sign-in (the lists without rows: none).
    assert len(progress_reports) == 1 + 4 + 1
