"""The benchmark's own parts that can be checked quickly: seeding and process probes."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from app.models import Post, User, followers
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
from testkit.clients import LiveClient
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


def test_the_ceiling_keeps_serving_under_the_production_gunicorn_settings(tmp_path):
    # The production settings' worker hooks are Microblog's: bare Flask's workers
    # must boot and stay up with them all the same.
    environment = production_environment(tmp_path)
    upgrade_database(environment)
    output = tmp_path / "gunicorn.out"
    ceiling = "bench.bare_app:app"
    with gunicorn_server(ceiling, environment=environment, output=output, workers=2) as server:
        assert wait_until(lambda: output.read_text().count("Booting worker") == 2, 10)
        assert LiveClient(server.url).get("/").status == 200
        time.sleep(2)  # a worker that fails to boot takes the server down within this
        assert server.process.poll() is None, output.read_text()[-2000:]
    assert "Exception in worker process" not in output.read_text()
