"""Fill an empty, freshly migrated database with the benchmark's users, posts and follows.

    venv/bin/python -m bench.seed DATABASE_URL    (from the project root)

Bulk inserts through SQLAlchemy Core (one executemany per table, one transaction);
every user gets the same password hash, computed once.

The follow graph (seeded RNG, the same every run): every user follows ``following``
others (50), ``celebrity`` among them, so ``celebrity`` is followed by every other
user; ``celebrity`` follows ``following`` people at random; ``follows500`` follows
``following_many`` (500), ``celebrity`` among them. The readers (the logged-in
users of the benchmark) follow 50 like everyone else, but never ``tenposts``: the
benchmark's follow / unfollow requests target ``tenposts``, and must not undo a
seeded follow.
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
from app.models import Post, User, followers
from config import parse_database_url
from testkit.services.processes import wait_until

PASSWORD = "benchmark password"  # noqa: S105 - throwaway accounts in a throwaway database
PROLIFIC = "prolific"
PROLIFIC_POSTS = 10_000
TEN_POSTS = "tenposts"
TEN_POSTS_COUNT = 10
READERS = tuple(f"reader{n}" for n in range(8))
CELEBRITY = "celebrity"
FOLLOWS_MANY = "follows500"
FOLLOWING = 50
FOLLOWING_MANY = 500
FOLLOW_TARGET = TEN_POSTS  # whom the benchmark's readers follow and unfollow


@dataclass(frozen=True)
class SeedCounts:
    users: int
    posts: int
    prolific_posts: int
    ten_posts: int
    follows: int
    celebrity_followers: int
    many_following: int


def follow_graph(
    ids: dict[str, int], following: int, following_many: int, rng: random.Random
) -> list[dict[str, int]]:
    """The rows of ``followers``: who follows whom, as the module's docstring describes."""
    celebrity = ids[CELEBRITY]
    everyone = sorted(ids.values())
    readers = {ids[name] for name in READERS}
    rows = []
    for user in everyone:
        if user == celebrity:
            chosen = rng.sample([other for other in everyone if other != user], following)
        else:
            count = following_many if user == ids[FOLLOWS_MANY] else following
            excluded = {user, celebrity}
            if user in readers:
                excluded.add(ids[FOLLOW_TARGET])
            pool = [other for other in everyone if other not in excluded]
            chosen = [celebrity, *rng.sample(pool, count - 1)]
        rows += [{"follower_id": user, "followed_id": followed} for followed in chosen]
    return rows


def seed(
    database_url: str,
    users: int = 1000,
    posts: int = 100_000,
    following: int = FOLLOWING,
    following_many: int = FOLLOWING_MANY,
) -> SeedCounts:
    """Insert the users, posts and follows; ``database_url`` is spelled as DATABASE_URL may be."""
    if max(following, following_many) > users - 2:
        raise ValueError(f"too few users ({users}) to follow {following} and {following_many}")
    names = [PROLIFIC, TEN_POSTS, *READERS, CELEBRITY, FOLLOWS_MANY]
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
    # Its own generator: the posts stay those of earlier runs whatever the graph.
    follow_rows = follow_graph(ids, following, following_many, random.Random(12))  # noqa: S311
    # The driver the app uses (psycopg 3 for PostgreSQL), whatever the URL's spelling.
    engine = create_engine(parse_database_url("DATABASE_URL", database_url))
    try:
        with engine.begin() as connection:
            if connection.scalar(select(func.count()).select_from(User)):
                raise SystemExit(f"{database_url} already holds users: give an empty database")
            connection.execute(insert(User), user_rows)
            connection.execute(insert(Post), post_rows)
            connection.execute(insert(followers), follow_rows)
            counts = SeedCounts(
                users=connection.scalar(select(func.count()).select_from(User)),
                posts=connection.scalar(select(func.count()).select_from(Post)),
                prolific_posts=connection.scalar(
                    select(func.count()).where(Post.user_id == ids[PROLIFIC])
                ),
                ten_posts=connection.scalar(
                    select(func.count()).where(Post.user_id == ids[TEN_POSTS])
                ),
                follows=connection.scalar(select(func.count()).select_from(followers)),
                celebrity_followers=connection.scalar(
                    select(func.count()).where(followers.c.followed_id == ids[CELEBRITY])
                ),
                many_following=connection.scalar(
                    select(func.count()).where(followers.c.follower_id == ids[FOLLOWS_MANY])
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
    """VACUUM ANALYZE; whether every page of the three tables is now marked all-visible."""
    connection.exec_driver_sql("VACUUM ANALYZE")
    hidden = connection.exec_driver_sql(
        "SELECT sum(relpages - relallvisible) FROM pg_class "
        "WHERE relname IN ('user', 'post', 'followers')"
    ).scalar()
    return not hidden


def main() -> None:
    parser = argparse.ArgumentParser(description="Seed the benchmark's data.")
    parser.add_argument("database_url")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--following", type=int, default=FOLLOWING)
    parser.add_argument("--following-many", type=int, default=FOLLOWING_MANY)
    args = parser.parse_args()
    started = time.monotonic()
    counts = seed(args.database_url, args.users, args.posts, args.following, args.following_many)
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
