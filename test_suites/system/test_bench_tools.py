"""The benchmark's own parts that can be checked quickly: seeding and process probes."""

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from app import create_app
from app.models import Post, User, followers
from bench import lean_app, lean_kept_app
from bench.probes import child_pids, cpu_seconds, peak_rss_kib
from bench.seed import (
    CELEBRITY,
    FOLLOW_TARGET,
    FOLLOWS_MANY,
    PASSWORD,
    PROLIFIC,
    READERS,
    TEN_POSTS,
    seed,
)
from testkit.clients import Auth, LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import stop_process, wait_until
from testkit.services.production import production_environment, upgrade_database

pytestmark = pytest.mark.system


def migrated_sqlite(tmp_path: Path) -> str:
    tmp_path.mkdir(exist_ok=True)
    environment = production_environment(tmp_path)
    upgrade_database(environment)
    return environment["DATABASE_URL"]


def test_seed_gives_the_benchmark_its_users_and_posts(tmp_path: Path):
    url = migrated_sqlite(tmp_path)
    counts = seed(url, users=50, posts=10_500, following=5, following_many=20)
    assert (counts.users, counts.posts) == (50, 10_500)
    assert (counts.prolific_posts, counts.ten_posts) == (10_000, 10)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = set(connection.scalars(select(User.username)))
            newest = connection.scalars(select(Post.timestamp).order_by(Post.id)).all()
            reader = connection.execute(select(User).where(User.username == READERS[0])).one()
    finally:
        engine.dispose()
    assert {PROLIFIC, TEN_POSTS, *READERS} <= names
    assert len(set(newest)) == len(newest)  # distinct times: pages have one order
    user = User(password_hash=reader.password_hash)
    assert user.check_password(PASSWORD)


def follow_graph_of(url: str) -> dict[str, set[str]]:
    """Whom each user follows, by name."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = dict(connection.execute(select(User.id, User.username)).all())
            pairs = connection.execute(select(followers)).all()
    finally:
        engine.dispose()
    graph: dict[str, set[str]] = {name: set() for name in names.values()}
    for follower_id, followed_id in pairs:
        graph[names[follower_id]].add(names[followed_id])
    return graph


def test_seed_gives_every_user_a_reproducible_follow_graph(tmp_path: Path):
    first, second = (migrated_sqlite(tmp_path / name) for name in ("first", "second"))
    counts = seed(first, users=40, posts=10_200, following=5, following_many=20)
    # 5 each, 20 for follows500; the celebrity is followed by all 39 others.
    assert (counts.follows, counts.celebrity_followers, counts.many_following) == (215, 39, 20)
    graph = follow_graph_of(first)
    for name, followed in graph.items():
        assert name not in followed
        assert len(followed) == (20 if name == FOLLOWS_MANY else 5), name
        assert name == CELEBRITY or CELEBRITY in followed, name
    for reader in READERS:
        assert FOLLOW_TARGET not in graph[reader]  # the benchmark follows and unfollows it
    # The celebrity's own follows are random too, not only the others'.
    assert len({frozenset(followed) for followed in graph.values()}) > 30
    seed(second, users=40, posts=10_200, following=5, following_many=20)
    assert follow_graph_of(second) == graph  # a seeded generator: every run the same


def test_seed_refuses_a_database_that_already_has_users(tmp_path: Path):
    url = migrated_sqlite(tmp_path)
    seed(url, users=20, posts=10_100, following=3, following_many=10)
    with pytest.raises(SystemExit, match="already holds users"):
        seed(url, users=20, posts=10_100, following=3, following_many=10)


def test_seed_refuses_more_follows_than_there_are_users():
    with pytest.raises(ValueError, match="too few users"):  # before it opens the database
        seed("sqlite://", users=20, posts=10_100, following=3, following_many=19)


def test_process_probes_read_this_process_and_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # noqa: S603
    try:
        assert child.pid in child_pids(os.getpid())
        assert peak_rss_kib(os.getpid()) > 1000
        assert cpu_seconds(os.getpid()) > 0
    finally:
        stop_process(child)


@pytest.fixture
def seeded_environment(tmp_path: Path, monkeypatch) -> dict[str, str]:
    """A seeded production database, with its settings in this process's environment."""
    environment = production_environment(tmp_path)
    upgrade_database(environment)
    seed(environment["DATABASE_URL"], users=50, posts=2_000, following=30, following_many=20)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@pytest.mark.parametrize("lean_module", [lean_app, lean_kept_app], ids=["lean", "lean_kept"])
def test_the_lean_home_pages_are_the_same_html_as_microblogs(seeded_environment, lean_module):
    # The lean pages are ceilings only if they serve the page Microblog serves.
    microblog = create_app().test_client()
    assert Auth(microblog).login(READERS[0], PASSWORD).status_code == 302
    lean = lean_module.create_app().test_client()
    lean.set_cookie("session", microblog.get_cookie("session").value)

    def without_tokens(page: str) -> str:
        return re.sub(r'value="[\w.-]{40,}"', "", re.sub(r"\s+", " ", page))

    expected = microblog.get("/index")
    served = lean.get("/index")
    assert served.status_code == 200
    assert "list-group-item" in served.text and "Older posts" in served.text
    assert without_tokens(served.text) == without_tokens(expected.text)
    for header in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
        assert served.headers[header] == expected.headers[header]
    lean.set_cookie("session", "forged")
    assert lean.get("/index").status_code == 401


def last_seen_of(url: str, username: str, set_to: datetime | None = None) -> datetime | None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if set_to is not None:
                named = User.username == username
                connection.execute(update(User).where(named).values(last_seen=set_to))
            return connection.scalar(select(User.last_seen).where(User.username == username))
    finally:
        engine.dispose()


def test_the_lean_page_with_the_kept_libraries_does_their_work(seeded_environment):
    # Its figures stand for the kept libraries' cost only if it keeps their checks:
    # the login record (ended by logging out), CSRF, the last-seen time.
    url = seeded_environment["DATABASE_URL"]
    microblog = create_app().test_client()
    assert Auth(microblog).login(READERS[1], PASSWORD).status_code == 302
    kept_app = lean_kept_app.create_app()
    assert "csrf" in kept_app.extensions  # CSRFProtect's hook runs on every request
    kept = kept_app.test_client()
    kept.set_cookie("session", microblog.get_cookie("session").value)
    stale = datetime.now(UTC) - timedelta(hours=1)
    last_seen_of(url, READERS[1], set_to=stale)
    before = datetime.now(UTC)
    assert kept.get("/index").status_code == 200
    seen = last_seen_of(url, READERS[1])
    assert seen is not None and seen >= before
    recent = last_seen_of(url, READERS[1], set_to=before - timedelta(seconds=30))
    assert kept.get("/index").status_code == 200
    assert last_seen_of(url, READERS[1]) == recent  # at most one write a minute
    assert Auth(microblog).logout().status_code == 302
    assert kept.get("/index").status_code == 401  # its login record is gone


@pytest.mark.parametrize(
    "ceiling",
    ["bench.bare_app:app", "bench.lean_app:create_app()", "bench.lean_kept_app:create_app()"],
)
def test_the_ceilings_keep_serving_under_the_production_gunicorn_settings(tmp_path, ceiling):
    # The production settings' worker hooks are Microblog's: a ceiling's workers
    # must boot and stay up with them all the same.
    environment = production_environment(tmp_path)
    upgrade_database(environment)
    output = tmp_path / "gunicorn.out"
    with gunicorn_server(ceiling, environment=environment, output=output, workers=2) as server:
        assert wait_until(lambda: output.read_text().count("Booting worker") == 2, 10)
        assert LiveClient(server.url).get("/").status in (200, 404)
        time.sleep(2)  # a worker that fails to boot takes the server down within this
        assert server.process.poll() is None, output.read_text()[-2000:]
    assert "Exception in worker process" not in output.read_text()


def page_parts(*options: str) -> tuple[str, dict[str, list[str]]]:
    """A short run of bench.page_parts: its output, and its table's cells by part."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "bench.page_parts", *options, "--requests", "20", "--rounds", "1"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {
        line[:48].strip(): line[48:].split()
        for line in done.stdout.splitlines()
        if re.search(r"\d\.\d{3}", line)
    }
    return done.stdout, rows


def test_page_parts_times_each_part_of_both_home_pages():
    _, rows = page_parts()
    number = re.compile(r"\d+\.\d{3}")
    for part in ["whole request", "the template", "loading the user", "the page's query"]:
        microblog, lean = rows[part]
        assert number.fullmatch(microblog) and number.fullmatch(lean), (part, rows[part])
        assert float(microblog) > 0 and float(lean) > 0
    # Microblog's own parts: its hooks and each post's values.
    assert number.fullmatch(rows["hook: before record_last_seen"][0])
    assert rows["each post's values"][1] == "-"
    assert float(rows["whole request"][0]) > float(rows["the template"][0])


def test_page_parts_times_the_failing_page_beside_bare_flask():
    output, rows = page_parts("--page", "failing")
    assert output.startswith("GET /crash/ (anonymous, no cookie)")
    ours, bare = (float(figure) for figure in rows["whole request"])
    assert ours > bare > 0
    # The failure's own parts: the error page and both log handlers, Microblog's alone.
    for part in ["the error page", "log handler: ConcurrentRotatingFileHandler"]:
        assert float(rows[part][0]) > 0 and rows[part][1] == "-"
    assert "log handler: ReportQueueHandler" in rows
