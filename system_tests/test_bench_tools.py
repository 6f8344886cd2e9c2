"""The benchmark's own parts that can be checked quickly: seeding and process probes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from app.models import Post, User
from bench.probes import child_pids, cpu_seconds, peak_rss_kib
from bench.seed import PASSWORD, PROLIFIC, READERS, TEN_POSTS, seed
from testkit.services.processes import stop_process
from testkit.services.production import production_environment, upgrade_database

pytestmark = pytest.mark.system


def migrated_sqlite(tmp_path: Path) -> str:
    environment = production_environment(tmp_path)
    upgrade_database(environment)
    return environment["DATABASE_URL"]


def test_seed_gives_the_benchmark_its_users_and_posts(tmp_path: Path):
    url = migrated_sqlite(tmp_path)
    counts = seed(url, users=50, posts=10_500)
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


def test_seed_refuses_a_database_that_already_has_users(tmp_path: Path):
    url = migrated_sqlite(tmp_path)
    seed(url, users=20, posts=10_100)
    with pytest.raises(SystemExit, match="already holds users"):
        seed(url, users=20, posts=10_100)


def test_process_probes_read_this_process_and_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # noqa: S603
    try:
        assert child.pid in child_pids(os.getpid())
        assert peak_rss_kib(os.getpid()) > 1000
        assert cpu_seconds(os.getpid()) > 0
    finally:
        stop_process(child)
