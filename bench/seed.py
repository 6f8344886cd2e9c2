"""Fill an empty, freshly migrated database with the benchmark's users, posts, follows, messages.

    venv/bin/python -m bench.seed DATABASE_URL    (from the project root)

Bulk inserts through SQLAlchemy Core (one executemany per table, one transaction);
every user gets the same password hash, computed once.

The posts, one a minute, newest first: ``prolific`` has 10,000, ``tenposts`` 10,
everyone else about the same share of the rest. Every post ends with the tag
``#bench``, so that tag's page lists all of them (its ``post_tag`` rows are those
app.post_text.hashtags_in finds, as the app writes them). The posts of
``linkreader`` and of the ``following`` (50) people it follows, ``linker00`` and
on, also carry an http link and an @name of an existing user: its home feed is a
feed where every post has a link, a name and a tag. One post from the middle of
the timeline has 200 replies: the 200 posts just newer than it, by as many users
or nearly (``tenposts``' and the link posters' posts aside), so that no page the
benchmark measures, but the post's own, holds a reply.

The follow graph (seeded RNG, the same every run): every user follows ``following``
others (50), ``celebrity`` among them, so ``celebrity`` is followed by every other
user but ``linkreader``; ``celebrity`` follows ``following`` people at random;
``follows500`` follows ``following_many`` (500), ``celebrity`` among them;
``linkreader`` follows the link posters and nobody else. The readers (the
logged-in users of the benchmark) and ``follows500`` follow like everyone else,
but never a link poster, so that their feeds hold plain posts (with their tag)
only; and the readers never ``tenposts``: the benchmark's follow / unfollow
requests target ``tenposts``, and must not undo a seeded follow.

The messages (bench/conversations.py): every reader has ``conversations`` (500)
conversations, all read: one with ``penpal`` of ``conversation_messages`` (1,000)
messages, the others of one message each, with users picked by a seeded generator
among the plain ``userNNNN`` (never a user whose pages the benchmark measures).
``penpal`` is the last plain user, renamed: the posts and follows stay those of
earlier runs.
"""

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, create_engine, func, insert, select, update
from werkzeug.security import generate_password_hash

from app.database import utcnow
from app.models import ConversationMember, Message, Post, User, followers, post_tags
from app.post_text import hashtags_in
from bench.conversations import insert_messages
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
BENCH_TAG = "bench"  # on every seeded post
LINK_READER = "linkreader"  # whose feed has a link, a name and a tag in every post
LINK_HOST = "https://example.com"
THREAD_REPLIES = 200
PEN_PAL = "penpal"  # with whom each reader has a long conversation
CONVERSATIONS = 500  # each reader's
CONVERSATION_MESSAGES = 1000  # each reader's with PEN_PAL


@dataclass(frozen=True)
class SeedCounts:
    users: int
    posts: int
    prolific_posts: int
    ten_posts: int
    follows: int
    celebrity_followers: int
    many_following: int
    tagged_posts: int  # posts under BENCH_TAG
    thread: int  # the id of the post with THREAD_REPLIES replies
    thread_replies: int
    link_reader_following: int
    link_posts: int  # posts of linkreader and the people it follows
    conversations: int  # the first reader's
    conversation_messages: int  # in the first reader's conversation with PEN_PAL
    unread: int  # sides of a conversation with a message not read: none


def link_posters(following: int) -> list[str]:
    """The people ``linkreader`` follows: their posts, and its own, carry links and names."""
    return [f"linker{n:02d}" for n in range(following)]


def follow_graph(
    ids: dict[str, int], following: int, following_many: int, rng: random.Random
) -> list[dict[str, int]]:
    """The rows of ``followers``: who follows whom, as the module's docstring describes."""
    celebrity = ids[CELEBRITY]
    everyone = sorted(ids.values())
    readers = {ids[name] for name in READERS}
    linked = [ids[name] for name in link_posters(following)]
    # Whose feeds the benchmark measures as feeds of plain posts.
    plain_feeds = {*readers, ids[FOLLOWS_MANY]}
    rows = []
    for user in everyone:
        if user == celebrity:
            chosen = rng.sample([other for other in everyone if other != user], following)
        elif user == ids[LINK_READER]:
            chosen = linked
        else:
            count = following_many if user == ids[FOLLOWS_MANY] else following
            excluded = {user, celebrity}
            if user in readers:
                excluded.add(ids[FOLLOW_TARGET])
            if user in plain_feeds:
                excluded.update(linked, [ids[LINK_READER]])
            pool = [other for other in everyone if other not in excluded]
            chosen = [celebrity, *rng.sample(pool, count - 1)]
        rows += [{"follower_id": user, "followed_id": followed} for followed in chosen]
    return rows


def reader_conversations(
    ids: dict[str, int], conversations: int, messages: int
) -> list[tuple[int, int, int]]:
    """(reader, other, messages) of each reader's conversations (see the module)."""
    plain = [user for name, user in ids.items() if name.startswith("user")]
    rng = random.Random(28)  # noqa: S311 - reproducible sample data, not security
    # The long ones first: their messages' ids then go side by side from the first.
    pairs = [(ids[reader], ids[PEN_PAL], messages) for reader in READERS]
    for reader in READERS:
        pairs += [(ids[reader], other, 1) for other in rng.sample(plain, conversations - 1)]
    return pairs


def post_body(n: int, author: int, rng: random.Random, named: list[str] | None) -> str:
    """Seeded post number ``n``; with ``named``, a link and the @name of one of them too."""
    words = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    if named is None:
        return f"Post number {n} by user {author}: {words}. #{BENCH_TAG}"
    mention, link = rng.choice(named), f"{LINK_HOST}/{rng.choice(WORDS)}/{n}"
    return f"Post number {n} by user {author}: {words}. Read {link} with @{mention} #{BENCH_TAG}"


def thread_of(post_rows: list[dict[str, Any]], authors: set[int]) -> tuple[int, list[int]]:
    """The post with THREAD_REPLIES replies and its replies' ids, from the timeline's middle.

    The posts of ``authors`` only, found going back in time from the middle: the
    replies are newer than the post they answer, and no first or last page of a
    list holds any of them.
    """
    middle = post_rows[len(post_rows) // 2 :]
    found = [row["id"] for row in middle if row["user_id"] in authors][: THREAD_REPLIES + 1]
    if len(found) <= THREAD_REPLIES:
        raise ValueError(f"too few posts ({len(post_rows)}) for a thread of {THREAD_REPLIES}")
    *replies, head = found
    return head, replies


def seed(
    database_url: str,
    users: int = 1000,
    posts: int = 100_000,
    following: int = FOLLOWING,
    following_many: int = FOLLOWING_MANY,
    conversations: int = CONVERSATIONS,
    conversation_messages: int = CONVERSATION_MESSAGES,
) -> SeedCounts:
    """Insert the users, posts and follows; ``database_url`` is spelled as DATABASE_URL may be."""
    linked = link_posters(following)
    names = [PROLIFIC, TEN_POSTS, *READERS, CELEBRITY, FOLLOWS_MANY, LINK_READER, *linked]
    # The readers' and follows500's choice: everyone but themselves, celebrity,
    # tenposts and the link posters.
    plain_pool = users - 3 - len(linked) - 1
    if len(names) > users or max(following, following_many) - 1 > plain_pool:
        raise ValueError(f"too few users ({users}) to follow {following} and {following_many}")
    if conversations - 1 > users - len(names) - 1:
        raise ValueError(f"too few users ({users}) for {conversations} conversations each")
    names += [f"user{n:04d}" for n in range(users - len(names) - 1)] + [PEN_PAL]
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
    link_authors = {ids[name] for name in (LINK_READER, *linked)}
    # Newest first at one post a minute: every timestamp distinct, over about 70 days.
    # The ids are the ones the inserts gave before they were written here (the
    # replies name theirs): newest first.
    post_rows = [
        {
            "id": n + 1,
            "body": post_body(n, author, rng, names if author in link_authors else None),
            "timestamp": now - timedelta(minutes=n),
            "user_id": author,
        }
        for n, author in enumerate(authors)
    ]
    thread, replies = thread_of(post_rows, set(ids.values()) - link_authors - {ids[TEN_POSTS]})
    tag_rows = [
        {"post_id": row["id"], "tag": tag, "timestamp": row["timestamp"]}
        for row in post_rows
        for tag in sorted(hashtags_in(row["body"]))
    ]
    # Its own generator: the posts stay those of earlier runs whatever the graph.
    follow_rows = follow_graph(ids, following, following_many, random.Random(12))  # noqa: S311
    message_pairs = reader_conversations(ids, conversations, conversation_messages)
    # The driver the app uses (psycopg 3 for PostgreSQL), whatever the URL's spelling.
    engine = create_engine(parse_database_url("DATABASE_URL", database_url))
    try:
        with engine.begin() as connection:
            if connection.scalar(select(func.count()).select_from(User)):
                raise SystemExit(f"{database_url} already holds users: give an empty database")
            connection.execute(insert(User), user_rows)
            connection.execute(insert(Post), post_rows)
            # After the insert: the post answered is older, so it comes later in it.
            connection.execute(update(Post).where(Post.id.in_(replies)).values(reply_to_id=thread))
            connection.execute(insert(post_tags), tag_rows)
            connection.execute(insert(followers), follow_rows)
            insert_messages(connection, message_pairs, now)
            counts = counted(connection, ids, thread)
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                # Explicit ids leave the sequences behind; new rows must not collide.
                for table in ('"user"', "post"):  # (the messages' in insert_messages)
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
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


def counted(connection: Connection, ids: dict[str, int], thread: int) -> SeedCounts:
    """What the database holds, counted back from it."""

    def count(*criteria: Any, table: Any = Post) -> int:
        return connection.scalar(select(func.count()).select_from(table).where(*criteria))

    link_reader = ids[LINK_READER]
    reader, member = ids[READERS[0]], ConversationMember.__table__
    pen_pal_conversation = (
        select(member.c.conversation_id)
        .where(member.c.user_id == reader, member.c.other_id == ids[PEN_PAL])
        .scalar_subquery()
    )
    followed_by_link_reader = select(followers.c.followed_id).where(
        followers.c.follower_id == link_reader
    )
    return SeedCounts(
        users=count(table=User),
        posts=count(),
        prolific_posts=count(Post.user_id == ids[PROLIFIC]),
        ten_posts=count(Post.user_id == ids[TEN_POSTS]),
        follows=count(table=followers),
        celebrity_followers=count(followers.c.followed_id == ids[CELEBRITY], table=followers),
        many_following=count(followers.c.follower_id == ids[FOLLOWS_MANY], table=followers),
        tagged_posts=count(post_tags.c.tag == BENCH_TAG, table=post_tags),
        thread=thread,
        thread_replies=count(Post.reply_to_id == thread, Post.deleted_at.is_(None)),
        link_reader_following=count(followers.c.follower_id == link_reader, table=followers),
        link_posts=count(
            (Post.user_id == link_reader) | Post.user_id.in_(followed_by_link_reader)
        ),
        conversations=count(member.c.user_id == reader, table=member),
        conversation_messages=count(
            Message.conversation_id == pen_pal_conversation, table=Message
        ),
        unread=count(member.c.last_received_id > member.c.last_read_id, table=member),
    )


def all_visible_after_vacuum(connection: Connection) -> bool:
    """VACUUM ANALYZE; whether every page of the seeded tables is now marked all-visible."""
    connection.exec_driver_sql("VACUUM ANALYZE")
    hidden = connection.exec_driver_sql(
        "SELECT sum(relpages - relallvisible) FROM pg_class "
        "WHERE relname IN ('user', 'post', 'post_tag', 'followers', 'conversation', "
        "'message', 'conversation_member')"
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
