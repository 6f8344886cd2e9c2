"""Fill an empty, freshly migrated database with the benchmark's users and posts.

    venv/bin/python -m bench.seed DATABASE_URL    (from the project root)

Bulk inserts through SQLAlchemy Core (one executemany per table, one transaction);
every user gets the same password hash, computed once.
"""

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import Connection, create_engine, func, insert, select
from werkzeug.security import generate_password_hash

from app.database import utcnow
from app.models import Post, User
from config import parse_database_url
from testkit.services.processes import wait_until

PASSWORD = "benchmark password"  # noqa: S105 - throwaway accounts in a throwaway database
PROLIFIC = "prolific"
PROLIFIC_POSTS = 10_000
TEN_POSTS = "tenposts"
TEN_POSTS_COUNT = 10
READERS = tuple(f"reader{n}" for n in range(8))


@dataclass(frozen=True)
class SeedCounts:
    users: int
    posts: int
    prolific_posts: int
    ten_posts: int


def seed(database_url: str, users: int = 1000, posts: int = 100_000) -> SeedCounts:
    """Insert the users and posts; ``database_url`` is spelled as DATABASE_URL may be."""
    names = [PROLIFIC, TEN_POSTS, *READERS]
    names += [f"user{n:04d}" for n in range(users - len(names))]
    password_hash = generate_password_hash(PASSWORD)
    now = utcnow()
    user_rows = [
        {
            "id": n + 1,
            "username": name,
            "email": f"{name}@example.com",
            "password_hash": password_hash,
            "about_me": f"I am {name}.",
            "last_seen": now,
        }
        for n, name in enumerate(names)
    ]
    ids = {row["username"]: row["id"] for row in user_rows}
    others = [row["id"] for row in user_rows if row["username"] not in (PROLIFIC, TEN_POSTS)]
    rng = random.Random(2026)  # noqa: S311 - reproducible sample data, not security
    authors = [ids[PROLIFIC]] * PROLIFIC_POSTS + [ids[TEN_POSTS]] * TEN_POSTS_COUNT
    authors += [others[n % len(others)] for n in range(posts - len(authors))]
    rng.shuffle(authors)
    # Newest first at one post a minute: every timestamp distinct, over about 70 days.
    post_rows = [
        {
            "body": f"Post number {n} by user {author}: {rng.choice(WORDS)} {rng.choice(WORDS)}.",
            "timestamp": now - timedelta(minutes=n),
            "user_id": author,
        }
        for n, author in enumerate(authors)
    ]
    # The driver the app uses (psycopg 3 for PostgreSQL), whatever the URL's spelling.
    engine = create_engine(parse_database_url("DATABASE_URL", database_url))
    try:
        with engine.begin() as connection:
            if connection.scalar(select(func.count()).select_from(User)):
                raise SystemExit(f"{database_url} already holds users: give an empty database")
            connection.execute(insert(User), user_rows)
            connection.execute(insert(Post), post_rows)
            counts = SeedCounts(
                users=connection.scalar(select(func.count()).select_from(User)),
                posts=connection.scalar(select(func.count()).select_from(Post)),
                prolific_posts=connection.scalar(
                    select(func.count()).where(Post.user_id == ids[PROLIFIC])
                ),
                ten_posts=connection.scalar(
                    select(func.count()).where(Post.user_id == ids[TEN_POSTS])
                ),
            )
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                # Explicit ids leave the sequence behind; new rows must not collide.
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('\"user\"', 'id'), "
                    '(SELECT max(id) FROM "user"))'
                )
                connection.commit()
            # What autovacuum does to a live table: statistics for the planner and a
            # visibility map, without which no index-only scan pays off. VACUUM
            # marks a page all-visible only once the commits that filled it are
            # flushed, which a server with synchronous_commit off does a bit later.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                wait_until(lambda: all_visible_after_vacuum(connection), 5, interval=0.5)
    finally:
        engine.dispose()
    return counts


def all_visible_after_vacuum(connection: Connection) -> bool:
    """VACUUM ANALYZE; whether every page of the two tables is now marked all-visible."""
    connection.exec_driver_sql("VACUUM ANALYZE")
    hidden = connection.exec_driver_sql(
        "SELECT sum(relpages - relallvisible) FROM pg_class WHERE relname IN ('user', 'post')"
    ).scalar()
    return not hidden


def main() -> None:
    parser = argparse.ArgumentParser(description="Seed the benchmark's data.")
    parser.add_argument("database_url")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    started = time.monotonic()
    counts = seed(args.database_url, args.users, args.posts)
    print(json.dumps({**asdict(counts), "seconds": round(time.monotonic() - started, 1)}))


WORDS = (
    "coffee",
    "rain",
    "flask",
    "weekend",
    "garden",
    "train",
    "music",
    "bread",
    "mountains",
    "python",
)


if __name__ == "__main__":
    main()
