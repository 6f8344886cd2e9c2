"""The benchmark's own parts: seeding, probes, its checks, the checkout of another revision.

The last tests run bench.run itself, briefly (1 s a scenario), in both modes.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from app.models import Conversation, ConversationMember, Message, Post, User, followers, post_tags
from app.post_text import LINK, NAME, TAG, hashtags_in, parts_of
from bench.probes import child_pids, cpu_seconds, peak_rss_kib
from bench.revisions import ROOT, checked_out, git, migrations_heads, require_same_schema
from bench.run import (
    CONVERSATION,
    FEWEST_POSTS,
    SEARCHES,
    check_conversation,
    check_conversations,
    check_follows,
    check_last_pages,
    check_linked_feed,
    check_poll,
    check_search,
    check_thread,
    log_in,
    older_link,
    search_path,
)
from bench.seed import (
    BENCH_TAG,
    CELEBRITY,
    FOLLOW_TARGET,
    FOLLOWS_MANY,
    LINK_READER,
    PASSWORD,
    PEN_PAL,
    PROLIFIC,
    READERS,
    TEN_POSTS,
    THREAD_REPLIES,
    link_posters,
    seed,
)
from testkit.clients import LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import stop_process, unavailable, wait_until
from testkit.services.production import production_environment, upgrade_database

pytestmark = pytest.mark.system

# Seeds of a few users: each reader's conversations are with the plain users
# (bench/seed.py), of whom there are a few dozen at most here.
SMALL = {
    "users": 50,
    "posts": 10_500,
    "following": 5,
    "following_many": 20,
    "conversations": 25,
    "conversation_messages": 60,  # three full pages of 20
}
SMALLER = {**SMALL, "users": 40, "posts": 10_200, "conversations": 10}
SMALLEST = {**SMALL, "users": 20, "posts": 10_100, "following": 3, "following_many": 10}
SMALLEST["conversations"] = 4


def migrated_sqlite(tmp_path: Path) -> str:
    tmp_path.mkdir(exist_ok=True)
    environment = production_environment(tmp_path)
    upgrade_database(environment)
    return environment["DATABASE_URL"]


@pytest.fixture(scope="module")
def small_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    """One database seeded with SMALL, for the tests that only read it (a seed of 10,500
    posts takes a quarter of a minute): its URL and the seed's counts. A test that
    changes the database works on a copy (``copy_of_small_seed``)."""
    url = migrated_sqlite(tmp_path_factory.mktemp("small_seed"))
    return url, seed(url, **SMALL)


def copy_of_small_seed(small_seed: tuple[str, object], url: str) -> object:
    """The seeded database copied to the SQLite file of ``url``; the seed's counts."""
    seeded, counts = small_seed
    source, target = (sqlite3.connect(u.removeprefix("sqlite:///")) for u in (seeded, url))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return counts


def test_seed_gives_the_benchmark_its_users_and_posts(small_seed):
    url, counts = small_seed
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
    counts = seed(first, **SMALLER)
    # 5 each, 20 for follows500; the celebrity is followed by all 39 others but linkreader.
    assert (counts.follows, counts.celebrity_followers, counts.many_following) == (215, 38, 20)
    graph = follow_graph_of(first)
    for name, followed in graph.items():
        assert name not in followed
        assert len(followed) == (20 if name == FOLLOWS_MANY else 5), name
        assert name in (CELEBRITY, LINK_READER) or CELEBRITY in followed, name
    for reader in READERS:
        assert FOLLOW_TARGET not in graph[reader]  # the benchmark follows and unfollows it
    # linkreader follows the link posters alone, and no feed of plain posts holds theirs.
    assert graph[LINK_READER] == set(link_posters(5))
    for name in (*READERS, FOLLOWS_MANY):
        assert not graph[name] & {LINK_READER, *link_posters(5)}, name
    # The celebrity's own follows are random too, not only the others'.
    assert len({frozenset(followed) for followed in graph.values()}) > 30
    seed(second, **SMALLER)
    assert follow_graph_of(second) == graph  # a seeded generator: every run the same


def test_seed_gives_the_post_pages_a_thread_a_tag_and_a_feed_of_linked_posts(small_seed):
    url, counts = small_seed
    assert (counts.tagged_posts, counts.thread_replies) == (10_500, THREAD_REPLIES)
    assert counts.link_reader_following == 5
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = dict(connection.execute(select(User.id, User.username)).all())
            posts = connection.execute(select(Post)).all()
            tags = connection.execute(select(post_tags)).all()
    finally:
        engine.dispose()
    # Tagged as the app tags a post: what hashtags_in finds, with the post's time.
    assert {(t.post_id, t.tag, t.timestamp) for t in tags} == {
        (post.id, tag, post.timestamp) for post in posts for tag in hashtags_in(post.body)
    }
    assert all(post.body.endswith(f"#{BENCH_TAG}") for post in posts)
    thread = next(post for post in posts if post.id == counts.thread)
    replies = [post for post in posts if post.reply_to_id is not None]
    assert {post.reply_to_id for post in replies} == {thread.id}
    assert all(post.timestamp > thread.timestamp for post in replies)
    linked = {LINK_READER, *link_posters(5)}
    assert not {names[post.user_id] for post in replies} & {TEN_POSTS, *linked}
    assert len({post.user_id for post in replies}) > 1  # from various users
    # Every post of linkreader's feed has a link, the @name of a real user and a tag.
    feed = [post for post in posts if names[post.user_id] in linked]
    assert len(feed) == counts.link_posts > 0
    for post in feed:
        parts = parts_of(post.body)
        assert {LINK, NAME, TAG} <= {part.kind for part in parts}, post.body
        assert {p.target for p in parts if p.kind == NAME} <= set(names.values()), post.body
    assert not any("://" in post.body for post in posts if names[post.user_id] not in linked)


def test_seed_refuses_a_database_that_already_has_users(tmp_path: Path):
    url = migrated_sqlite(tmp_path)
    seed(url, **SMALLEST)
    with pytest.raises(SystemExit, match="already holds users"):
        seed(url, **SMALLEST)


def test_seed_refuses_more_follows_than_there_are_users():
    with pytest.raises(ValueError, match="too few users"):  # before it opens the database
        seed("sqlite://", **{**SMALLEST, "following_many": 19})
    with pytest.raises(ValueError, match=r"too few users \(20\) for 5 conversations"):
        seed("sqlite://", **{**SMALLEST, "conversations": 5})


def test_seed_gives_each_reader_its_conversations_all_read(small_seed):
    url, counts = small_seed
    assert (counts.conversations, counts.conversation_messages, counts.unread) == (25, 60, 0)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = dict(connection.execute(select(User.id, User.username)).all())
            pairs = connection.execute(select(Conversation)).all()
            messages = connection.execute(select(Message).order_by(Message.id)).all()
            sides = connection.execute(select(ConversationMember)).all()
    finally:
        engine.dispose()
    of_pair = {pair.id: {names[pair.user_low_id], names[pair.user_high_id]} for pair in pairs}
    assert all(pair.user_low_id < pair.user_high_id for pair in pairs)
    for reader in READERS:
        others = [
            other for pair in of_pair.values() if reader in pair for other in pair - {reader}
        ]
        assert len(others) == len(set(others)) == 25
        assert PEN_PAL in others
        # Only plain users, whose pages the benchmark never measures, beside penpal.
        assert all(other.startswith("user") for other in set(others) - {PEN_PAL}), others
    # Each side as the app's sending leaves it (app.messages.conversations), all read.
    in_conversation: dict[int, list] = {}
    for message in messages:
        in_conversation.setdefault(message.conversation_id, []).append(message)
    assert len(sides) == 2 * len(pairs)
    for side in sides:
        written = in_conversation[side.conversation_id]
        received = [m.id for m in written if m.sender_id == side.other_id]
        assert side.last_message_id == written[-1].id
        assert side.last_received_id == side.last_read_id == (received[-1] if received else 0)
    long_ones = [written for written in in_conversation.values() if len(written) == 60]
    assert len(long_ones) == len(READERS)
    for written in long_ones:
        assert len({m.sender_id for m in written}) == 2  # both ways
        assert [m.timestamp for m in written] == sorted(m.timestamp for m in written)
    # The n-th message of each reader's long conversation has an id next to the others'
    # n-th: one "Earlier messages" link (?after=<id>) reads the same page of every one.
    for position in range(60):
        ids = sorted(written[position].id for written in long_ones)
        assert ids[-1] - ids[0] == len(READERS) - 1
        if position:
            assert ids[0] > max(written[position - 1].id for written in long_ones)


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


def worktrees() -> set[str]:
    """The paths of the repository's worktrees (others' HEADs may move meanwhile)."""
    listed = git("worktree", "list", "--porcelain").splitlines()
    return {line.removeprefix("worktree ") for line in listed if line.startswith("worktree ")}


def test_another_revision_is_served_from_its_own_checkout(tmp_path):
    with checked_out("HEAD") as tree:
        assert str(tree) in worktrees()
        # Changed in the checkout only: what answers must be the checkout's code.
        bare_app = tree / "bench" / "bare_app.py"
        bare_app.write_text(bare_app.read_text().replace("Hello", "Hello from the checkout"))
        with gunicorn_server(
            "bench.bare_app:app",
            environment=production_environment(tmp_path),
            output=tmp_path / "gunicorn.out",
            workers=1,
            root=tree,
        ) as server:
            assert "Hello from the checkout" in LiveClient(server.url).get("/").text
    assert not tree.exists()
    assert str(tree) not in worktrees()


def test_the_checkout_is_removed_when_the_run_is_interrupted():
    with pytest.raises(KeyboardInterrupt), checked_out("HEAD") as tree:
        raise KeyboardInterrupt
    assert not tree.exists()
    assert str(tree) not in worktrees()


def test_a_revision_that_names_no_commit_is_refused():
    with pytest.raises(SystemExit, match="'no-such-branch' names no commit"):
        checked_out("no-such-branch").__enter__()


def test_a_revision_with_other_migrations_is_refused(tmp_path):
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations")
    require_same_schema(tmp_path, "REV")  # the same heads: both apps can share a database
    [head] = migrations_heads(ROOT)
    (tmp_path / "migrations" / "versions" / "9999_later.py").write_text(
        f'revision = "9999"\ndown_revision = "{head}"\n'
    )
    with pytest.raises(SystemExit, match="REV's migrations end at 9999, the working tree's at"):
        require_same_schema(tmp_path, "REV")


def test_the_benchmarks_checks_refuse_pages_that_are_not_what_they_claim(tmp_path, small_seed):
    environment = production_environment(tmp_path, POSTS_PER_PAGE="20")
    counts = copy_of_small_seed(small_seed, environment["DATABASE_URL"])  # it follows people
    output = tmp_path / "gunicorn.out"
    with gunicorn_server(environment=environment, output=output, workers=1) as server:
        session, token = log_in(server.url, READERS[0])
        assert session.startswith("session=") and token
        check_follows(server.url, session, READERS[0], 5)
        check_follows(server.url, session, FOLLOWS_MANY, 20)
        with pytest.raises(SystemExit, match="does not follow 6 people"):
            check_follows(server.url, session, READERS[0], 6)
        check_last_pages(server.url, session, 20, [f"/user/{PROLIFIC}?page=500"])
        for not_last in (f"/user/{PROLIFIC}?page=499", f"/user/{TEN_POSTS}"):
            with pytest.raises(SystemExit, match="is not a full last page"):
                check_last_pages(server.url, session, 20, [not_last])
        thread = f"/post/{counts.thread}"
        check_thread(server.url, session, thread, THREAD_REPLIES, 20)
        for not_thread in (f"/post/{counts.thread + 1}", f"/post/{counts.thread}?page=10"):
            with pytest.raises(SystemExit, match="is not a post with 200 replies"):
                check_thread(server.url, session, not_thread, THREAD_REPLIES, 20)
        check_linked_feed(server.url, log_in(server.url, LINK_READER)[0], 20)
        with pytest.raises(SystemExit, match="not every post of the home feed has a link"):
            check_linked_feed(server.url, session, 20)  # reader0's posts are plain
        for words in SEARCHES.values():
            check_search(server.url, session, search_path(words), 20)
        with pytest.raises(SystemExit, match="does not find a full page of posts"):
            check_search(server.url, session, search_path("garden nosuchword"), 20)
        readers = [session, *(log_in(server.url, name)[0] for name in READERS[1:4])]
        check_poll(server.url, readers)
        # One reader's last page, by its link, is every reader's (bench/conversations.py).
        last = older_link(server.url, f"{CONVERSATION}?page=2", "Earlier messages", session)
        check_conversation(server.url, readers, CONVERSATION, last, 20)
        with pytest.raises(SystemExit, match="is not a full last page of messages"):
            check_conversation(server.url, readers, CONVERSATION, f"{CONVERSATION}?page=2", 20)
        with pytest.raises(SystemExit, match="is not a full page of a longer conversation"):
            check_conversation(server.url, readers, f"/messages/{TEN_POSTS}", last, 20)
        check_conversations(server.url, session, 20)
        with pytest.raises(SystemExit, match="is not a full page of conversations"):
            check_conversations(server.url, log_in(server.url, PEN_PAL)[0], 20)  # 8 of them
        # Something new for a reader: its poll no longer has the state NOTHING_NEW.
        follower = LiveClient(server.url, headers={"Cookie": session})
        for change in ("unfollow", "follow"):  # a follow, whether or not it followed before
            assert follower.post(f"/{change}/{READERS[1]}", {"csrf_token": token}).status == 302
        with pytest.raises(SystemExit, match="a reader has something unread"):
            check_poll(server.url, [readers[1]])


def bench_run(*options: str) -> str:
    """A short run of bench.run (1 s a scenario unless told, on its smallest timeline):
    its output; it must succeed."""
    if shutil.which("wrk") is None:
        unavailable("wrk is not installed")
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            *(sys.executable, "-m", "bench.run", "--duration", "1", "--warmup", "0"),
            *("--posts", str(FEWEST_POSTS), *options),
        ],
        cwd=ROOT,
        env={**os.environ, "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def table_rows(output: str) -> dict[str, list[str]]:
    """The printed table's rows: each scenario's cells, by its name."""
    rows = [line.strip("|").split(" | ") for line in output.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows[2:]}


def test_the_benchmark_measures_a_page_against_bare_flask():
    output = bench_run("--only", "GET /index (logged in")
    rows = table_rows(output)
    # The home feed, and beside it the same feed in Spanish (measured in the same run).
    assert list(rows) == [
        "GET /index (logged in, follows 50)",
        "GET /index (logged in, follows 50, in Spanish)",
    ]
    cells = rows["GET /index (logged in, follows 50)"]
    rps, unexpected, socket_errors, ceiling, ratio = (cells[i] for i in (0, 3, 4, 7, 8))
    assert float(rps) > 0 and float(ceiling) > float(rps)
    assert (unexpected, socket_errors) == ("0", "0")  # every request logged in and answered
    assert 0 < float(ratio) < 1
    assert "targets: not evaluated" in output
    # Its SQL statements, counted in-process: the user (by their login) and the feed.
    assert re.search(r"^  GET /index \(logged in, follows 50\): \d+ \(SELECT ", output, re.M)


def test_the_benchmark_compares_a_revision_with_the_working_tree():
    output = bench_run(
        *("--against", "HEAD", "--rounds", "2", "--duration", "2"),
        *("--only", "login", "--only", "/follow/"),
    )
    rows = table_rows(output)
    assert list(rows) == ["GET /login (anonymous)", "POST /follow/tenposts + /unfollow"]
    for cells in rows.values():
        assert float(cells[0]) > 0 and float(cells[1]) > 0  # req/s before and after
        # The median of the two rounds' changes and their range: req/s, CPU per request.
        for change in (cells[2], cells[7]):
            assert re.fullmatch(r"[+-]\d+\.\d \([+-]\d+\.\d to [+-]\d+\.\d\)", change)
        assert cells[8:] == ["0 / 0", "0 / 0"]  # no unexpected status, no socket error
    # Each version went first in one of the two rounds (then they took turns of 1 s).
    first = re.findall(
        r"^  GET /login \(anonymous\) \.\.\. (\w+) \d+, \w+ \d+ req/s$", output, re.M
    )
    assert first == ["before", "after"]
    assert f"before: {git('log', '-1', '--format=%h', 'HEAD')} (" in output
    [checkout] = re.findall(r"^before: .*, checked out in (\S+)$", output, re.M)
    assert not Path(checkout).exists() and checkout not in worktrees()  # gone at the end
