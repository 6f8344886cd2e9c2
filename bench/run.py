"""Benchmark Microblog under gunicorn against bare Flask, alone or beside another revision.

    venv/bin/python -m bench.run [--workers 2] [--duration 5] [--database-url URL | --postgres]
    venv/bin/python -m bench.run --against REV [--rounds 3] [--only SUBSTRING ...]
    venv/bin/python -m bench.run --posts 10500 --only /search    (a smaller timeline)

Seeds a fresh database (1,000 users, 100,000 posts, one user with 10,000 of them,
one with 10, all tagged #bench, one with 200 replies; every user following 50
others, ``celebrity`` followed by all but ``linkreader``, ``follows500`` following
500, ``linkreader`` 50 whose posts have links and @names; every reader 500
conversations, all read, one of them of 1,000 messages: see bench/seed.py),
starts the real app in
production mode with deploy/gunicorn.conf.py (email reports on, to a local SMTP
server; rate limits on, as in production), and beside it the same server settings
around a bare Flask app (bench/bare_app.py, the ceiling), and drives each scenario
with wrk from its own process (bench/load.lua); bare Flask is measured again after
every scenario. Statuses are checked against the gunicorn access log, so every 404
or 500 that should not be there is counted. With --against, git revision REV is
checked out in a temporary worktree and its app ("before") is served beside the
working tree's ("after") on the same database; each scenario measures both, back
to back, in an order that alternates. Without --against, the number of SQL
statements of each GET page is counted too, in-process (bench/sql_counts.py), and
the search scenarios' ranked statement is timed (bench/search_costs.py).
Needs wrk (testkit/install-system-packages.sh installs it).
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.notifications.poll import POLL_PATH
from bench.conversations import MESSAGE_TEXT
from bench.probes import child_pids, cpu_seconds, peak_rss_kib, reset_peak_rss
from bench.report import SPANISH_FEED, Measured, Result, print_comparison, print_report
from bench.revisions import (
    ROOT,
    checked_out,
    describe,
    require_same_schema,
    working_tree_description,
)
from bench.seed import (
    BENCH_TAG,
    CELEBRITY,
    FOLLOW_TARGET,
    FOLLOWING,
    FOLLOWS_MANY,
    LINK_HOST,
    LINK_READER,
    PASSWORD,
    PEN_PAL,
    PROLIFIC,
    PROLIFIC_POSTS,
    READERS,
    TEN_POSTS,
    SeedCounts,
    seed,
)
from bench.sql_counts import API_USER_SUFFIX
from config import Config
from testkit.clients import Auth, LiveClient, PostBodies, link_to, token_in
from testkit.services.gunicorn import gunicorn_server
from testkit.services.postgres import private_postgres
from testkit.services.processes import SETUP_SCRIPT, Server
from testkit.services.production import production_environment, run_python, upgrade_database
from testkit.services.smtp import smtp_sink

LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"
AGENT = "microblog-bench"
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<uri>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')
CRASH_PATH = "/crash/"  # testkit.crashing_app's failing page
SEEDED_POST = "Post number "  # in the body of every seeded post (bench/seed.py)
LINK = re.compile(r'<a href="([^"]*)"[^>]*>([^<]*)</a>')
FAILING_APP = Path("testkit", "crashing_app.py")  # in each tree served
UNSPENT_WRITING_LIMIT = "1000000 per minute"  # RATELIMIT_WRITING: see main()
UNSPENT_API_LIMIT = "100000000 per minute"  # RATELIMIT_API: see main()
# The poll's state when nothing is unread: the readers' (bench/seed.py), whose every
# message is read and who get no notification before the poll is measured.
NOTHING_NEW = "0.0"
CONVERSATION = f"/messages/{PEN_PAL}"  # each reader's conversation of 1,000 messages
NEW_TOKEN = re.compile(r'<code id="new-token"[^>]*>(mbt_[^<]+)</code>')
# The searches measured, in the seed's words (bench.seed.WORDS): each post holds two
# of its ten words, so one word matches about 19 % of the posts (1 - 0.9 ** 2), and
# two of them with the tag every post has, about 2 % (2 x 0.1 x 0.1): both more than
# the 1,000 candidates ranked at 100,000 posts; at 10,500, the three words' 216 fewer.
SEARCHES = {"one word": "garden", "three words": "coffee garden bench"}
# The fewest posts --posts accepts: prolific's 10,000 and tenposts' 10, and others'
# for the thread's replies and the pages (bench/seed.py).
FEWEST_POSTS = PROLIFIC_POSTS + 500
# What serves each kind of scenario, from the tree of the version measured, and with
# how many workers (None: --workers).
SERVED = {
    "app": ("microblog:app", None),
    "crash": ("testkit.crashing_app:app", None),
    "stress": ("microblog:app", 4),
}


@dataclass
class Scenario:
    name: str
    requests: list[tuple[str, str, int]]  # method, path, expected status
    logged_in: bool = False
    users: tuple[str, ...] = READERS  # whose sessions a logged-in scenario uses, in turn
    server: str = "app"  # a key of SERVED
    connections: int | None = None  # None: --connections
    threads: int = 1
    to_bare: bool = True  # whether its ratio to bare Flask means anything
    bearer: bool = False  # logged in through the API: the users' tokens, not their cookies
    accept_language: str = ""  # the Accept-Language header of every request ("": none)


BARE = Scenario("bare Flask ceiling", [("GET", "/", 200)])


@dataclass(frozen=True)
class Variant:
    """One version of the app: its name in the report and the tree it is served from."""

    name: str
    root: Path


@dataclass
class Running:
    """A gunicorn server of the benchmark and the files it writes."""

    server: Server
    access_log: Path

    @property
    def url(self) -> str:
        return self.server.url

    def worker_pids(self) -> list[int]:
        return child_pids(self.server.process.pid)


def find_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            f"wrk is not installed: run {SETUP_SCRIPT} as root (or apt-get install wrk)"
        )
    return found


def prepare_database(environment: dict[str, str], posts: int) -> SeedCounts:
    upgrade_database(environment)
    started = time.monotonic()
    counts = seed(environment["DATABASE_URL"], posts=posts)
    print(f"seeded: {counts} in {time.monotonic() - started:.1f} s", flush=True)
    return counts


def log_in(base: str, username: str) -> tuple[str, str]:
    """Log in like a browser; return the session cookie and a CSRF token for forms."""
    browser = LiveClient(base, headers={"User-Agent": AGENT})
    reply = Auth(browser).login(username, PASSWORD)
    home = browser.get("/index")
    if reply.status != 302 or home.status != 200:
        raise SystemExit(f"logging in {username} at {base} failed: {reply.status}, {home.status}")
    return f"session={browser.cookie('session')}", token_in(home.text, "/index")


Sessions = dict[str, tuple[str, str]]  # username: (session cookie, CSRF token)


def api_user(username: str) -> str:
    """The name under which the sessions keep ``username``'s API token."""
    return username + API_USER_SUFFIX


def api_token(base: str, session: tuple[str, str]) -> tuple[str, str]:
    """An API token made on the account's page; as load.lua reads it ("bearer=<token>")."""
    cookie, csrf = session
    browser = LiveClient(base, headers={"Cookie": cookie, "User-Agent": AGENT})
    form = {"csrf_token": csrf, "name": "bench", "expires_in_days": "1"}
    found = NEW_TOKEN.search(browser.post("/account/tokens", form).text)
    if found is None:
        raise SystemExit(f"no API token could be made at {base}/account/tokens")
    return f"bearer={found.group(1)}", "-"


def check_api(base: str, token: str, per_page: int, post_id: int) -> None:
    """The API's scenarios: a feed of a full page that reads on, and one post."""
    browser = LiveClient(base, headers={"Authorization": f"Bearer {token}", "User-Agent": AGENT})
    feed = json.loads(browser.get("/api/v1/feed").text)
    post = browser.get(f"/api/v1/posts/{post_id}")
    if len(feed["items"]) != per_page or feed["next"] is None or post.status != 200:
        raise SystemExit(
            f"the API's feed or post {post_id} is not what its scenarios say at {base}"
        )


def older_link(base: str, path: str, text: str = "Older posts", session: str = "") -> str:
    """Where the link named ``text`` of the page at ``path`` leads (as ``session``'s user)."""
    headers = {"User-Agent": AGENT, **({"Cookie": session} if session else {})}
    found = link_to(LiveClient(base, headers=headers).get(path).text, text)
    if found is None:
        raise SystemExit(f"{path} has no {text} link")
    return found


def check_last_pages(base: str, session: str, per_page: int, paths: list[str]) -> None:
    """The "last page" scenarios must really be last pages, full of posts."""
    browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
    for path in paths:
        page = browser.get(path).text
        if page.count(SEEDED_POST) != per_page or link_to(page, "Older posts") is not None:
            raise SystemExit(f"{path} is not a full last page at {base}")


def seeded_posts_in(page: str) -> int:
    """How many seeded posts a page shows (the page's title may quote one too)."""
    bodies = PostBodies()
    bodies.feed(page)
    return sum(1 for body in bodies.bodies if body.startswith(SEEDED_POST))


def check_thread(base: str, session: str, path: str, replies: int, per_page: int) -> None:
    """The thread scenario's post must have that many replies, its first page of them shown."""
    browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
    page = browser.get(path).text
    shown = seeded_posts_in(page) == per_page + 1  # the post and its replies
    if not shown or f"{replies} replies" not in page or link_to(page, "Later replies") is None:
        raise SystemExit(f"{path} is not a post with {replies} replies at {base}")


def check_linked_feed(base: str, session: str, per_page: int) -> None:
    """Every post of the home feed must show its link, an @name and its tag, as links."""
    browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
    page = browser.get("/index").text
    links = LINK.findall(page)
    kinds = [
        sum(1 for href, _ in links if href.startswith(LINK_HOST)),
        sum(1 for href, text in links if text.startswith("@") and "/user/" in href),
        sum(1 for href, text in links if text == f"#{BENCH_TAG}" and href.endswith(BENCH_TAG)),
    ]
    if seeded_posts_in(page) != per_page or kinds != [per_page] * 3:
        raise SystemExit(f"not every post of the home feed has a link, a name and a tag at {base}")


def check_search(base: str, session: str, path: str, per_page: int) -> None:
    """A search scenario's page must show a full page of seeded posts, and a link to more."""
    browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
    page = browser.get(path).text
    if seeded_posts_in(page) != per_page or link_to(page, "More matches") is None:
        raise SystemExit(f"{path} does not find a full page of posts at {base}")


def check_poll(base: str, sessions: list[str]) -> None:
    """Each reader's poll: nothing unread (the counts' state NOTHING_NEW), so a 304."""
    for session in sessions:
        browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
        counts = browser.get(POLL_PATH)
        again = browser.get(f"{POLL_PATH}?since={NOTHING_NEW}")
        if counts.status != 200 or json.loads(counts.text)["state"] != NOTHING_NEW:
            raise SystemExit(f"a reader has something unread at {base}: {counts.text}")
        if again.status != 304:
            raise SystemExit(f"the poll with nothing new answered {again.status} at {base}")


def check_conversation(
    base: str, sessions: list[str], path: str, last: str, per_page: int
) -> None:
    """Each reader's conversation: a full page of messages that reads on, and a last one
    (by the link of the first reader's page) full of that reader's own messages."""
    for session in sessions:
        browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
        first, last_page = browser.get(path).text, browser.get(last).text
        if first.count(MESSAGE_TEXT) != per_page or link_to(first, "Earlier messages") is None:
            raise SystemExit(f"{path} is not a full page of a longer conversation at {base}")
        ends = link_to(last_page, "Earlier messages") is None
        if last_page.count(MESSAGE_TEXT) != per_page or not ends:
            raise SystemExit(f"{last} is not a full last page of messages at {base}")


def check_conversations(base: str, session: str, per_page: int) -> None:
    """The Messages page: a full page of conversations, each with its last message, and more."""
    page = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT}).get("/messages")
    if page.text.count(MESSAGE_TEXT) != per_page or not link_to(page.text, "Older conversations"):
        raise SystemExit(f"/messages is not a full page of conversations that reads on at {base}")


def search_path(words: str) -> str:
    return "/search?q=" + words.replace(" ", "+")


def check_follows(base: str, session: str, username: str, following: int) -> None:
    """A home feed scenario must be that of a user following that many people."""
    browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
    words = " ".join(re.sub(r"<[^>]*>", " ", browser.get(f"/user/{username}").text).split())
    if not re.search(rf"\b{following} following\b", words):
        raise SystemExit(f"{username} does not follow {following} people at {base}")


def read_access_log(path: Path, offset: int) -> tuple[list[tuple[str, str, int]], int]:
    with path.open("rb") as log:
        log.seek(offset)
        data = log.read()
    lines = data.decode(errors="replace").splitlines()
    entries = []
    for line in lines:
        match = ACCESS_LINE.search(line)
        if match:
            entries.append((match["method"], match["uri"], int(match["status"])))
    return entries, offset + len(data)


def run_wrk(
    wrk: str, url: str, scenario: Scenario, seconds: int, connections: int, sessions: Sessions
) -> dict[str, float]:
    """The one wrk driver: ``scenario`` against ``url`` for ``seconds``; load.lua's summary."""
    used = [sessions[name] for name in scenario.users] if scenario.logged_in else []
    environment = {
        **os.environ,
        "BENCH_REQUESTS": "\n".join(f"{method} {path}" for method, path, _ in scenario.requests),
        "BENCH_SESSIONS": "\n".join(f"{cookie} {token}" for cookie, token in used),
        "BENCH_AGENT": AGENT,
        "BENCH_ACCEPT_LANGUAGE": scenario.accept_language,
    }
    command = [
        wrk,
        f"-t{scenario.threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LOAD_SCRIPT),
        url + scenario.requests[0][1],
    ]
    finished = subprocess.run(  # noqa: S603 - wrk with our arguments
        command, env=environment, capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        said = finished.stderr + finished.stdout
        raise SystemExit(f"wrk failed ({finished.returncode}):\n{said}")
    output = finished.stdout
    match = re.search(r"^BENCH (.*)$", output, re.MULTILINE)
    if not match:
        raise SystemExit(f"wrk printed no summary:\n{output}")
    return {key: float(value) for key, value in (kv.split("=") for kv in match.group(1).split())}


@dataclass
class Tally:
    """What one server did during a measurement, over however many wrk runs it took."""

    server: Running
    sessions: Sessions
    label: str = ""  # the version's name, with --against
    offset: int = 0  # where its access log stood when the measurement began
    workers: list[int] = field(default_factory=list)
    requests: float = 0
    duration_us: float = 0
    cpu_seconds: float = 0
    socket_errors: int = 0
    p50s_us: list[float] = field(default_factory=list)
    p99s_us: list[float] = field(default_factory=list)

    def add(self, summary: dict[str, float], cpu_seconds: float) -> None:
        self.requests += summary["requests"]
        self.duration_us += summary["duration_us"]
        self.cpu_seconds += cpu_seconds
        errors = ("connect", "read", "write", "timeout")
        self.socket_errors += int(sum(summary[kind] for kind in errors))
        self.p50s_us.append(summary["p50_us"])
        self.p99s_us.append(summary["p99_us"])

    def result(self, scenario: Scenario) -> Result:
        entries, _ = read_access_log(self.server.access_log, self.offset)
        expected = {(method, path): status for method, path, status in scenario.requests}
        peaks = [peak_rss_kib(pid) or 0 for pid in self.workers]
        return Result(
            scenario=scenario.name,
            rps=self.requests / (self.duration_us / 1e6),
            p50_ms=statistics.median(self.p50s_us) / 1000,
            p99_ms=statistics.median(self.p99s_us) / 1000,
            unexpected=sum(1 for m, uri, status in entries if expected.get((m, uri)) != status),
            socket_errors=self.socket_errors,
            peak_rss_mib=max(peaks, default=0) / 1024,
            cpu_ms=self.cpu_seconds * 1000 / max(self.requests, 1),
            statuses=Counter(status for _, _, status in entries),
        )


def measure(
    wrk: str,
    tallies: list[Tally],
    scenario: Scenario,
    args: argparse.Namespace,
    turns: int = 1,
    warm: bool = True,
) -> list[Result]:
    """``scenario`` on each server for --duration s, in ``turns`` wrk runs each, taking turns.

    Two servers go A B B A A B...: both are measured over the same stretch of time,
    on a machine whose load may change from one second to the next.
    """
    connections = scenario.connections or args.connections
    print(f"  {scenario.name} ...", end="", flush=True)
    if warm and args.warmup:
        for tally in tallies:
            run_wrk(wrk, tally.server.url, scenario, args.warmup, connections, tally.sessions)
        time.sleep(0.3)
    for tally in tallies:
        _, tally.offset = read_access_log(tally.server.access_log, 0)
        tally.workers = tally.server.worker_pids()
        reset_peak_rss(tally.workers)
    for turn in range(turns):
        for tally in tallies if turn % 2 == 0 else tallies[::-1]:
            cpu_before = sum(cpu_seconds(pid) for pid in tally.workers)
            seconds = args.duration // turns
            summary = run_wrk(
                wrk, tally.server.url, scenario, seconds, connections, tally.sessions
            )
            tally.add(summary, sum(cpu_seconds(pid) for pid in tally.workers) - cpu_before)
    time.sleep(0.5)  # the last responses' log lines
    results = [tally.result(scenario) for tally in tallies]
    told = (f"{t.label} {r.rps:.0f}".strip() for t, r in zip(tallies, results, strict=True))
    print(f" {', '.join(told)} req/s", flush=True)
    return results


@contextlib.contextmanager
def serving(
    root: Path, app: str, name: str, environment: dict[str, str], workers: int, tmp: Path
) -> Iterator[Running]:
    """A gunicorn server of ``root``'s tree, production settings; its files named after it."""
    access_log = tmp / f"{name}-access.log"
    with gunicorn_server(
        app,
        environment={**environment, "LOG_DIR": str(tmp / f"{name}-logs")},
        output=tmp / f"{name}-gunicorn.log",
        workers=workers,
        options=["--access-logfile", str(access_log)],
        root=root,
    ) as server:
        yield Running(server, access_log)


def count_in_logs(tmp: Path, name: str, text: str) -> int:
    """Occurrences of ``text`` in one server's app log files and gunicorn error log."""
    files = [*(tmp / f"{name}-logs").glob("*.log*"), tmp / f"{name}-gunicorn.log"]
    return sum(path.read_text(errors="replace").count(text) for path in files if path.exists())


def explore_last_page(counts: SeedCounts, per_page: int) -> int:
    return -(-counts.posts // per_page)


def tag_last_page(counts: SeedCounts, per_page: int) -> int:
    return -(-counts.tagged_posts // per_page)


def thread_path(counts: SeedCounts) -> str:
    return f"/post/{counts.thread}"


def conversation_last_page(counts: SeedCounts, per_page: int) -> int:
    return -(-counts.conversation_messages // per_page)


def all_scenarios(
    counts: SeedCounts,
    per_page: int,
    explore_last_link: str,
    tag_last_link: str,
    conversation_last_link: str,
) -> list[Scenario]:
    """Every scenario, in the order run: none posts before the explore pages are measured."""
    last_page = PROLIFIC_POSTS // per_page
    explore_last = explore_last_page(counts, per_page)
    tagged = f"GET /tag/{BENCH_TAG} ({counts.tagged_posts // 1000}k posts)"
    follow = ("POST", f"/follow/{FOLLOW_TARGET}", 302)
    unfollow = ("POST", f"/unfollow/{FOLLOW_TARGET}", 302)
    index = ("GET", "/index", 200)
    talk = f"GET /messages/{PEN_PAL} ({counts.conversation_messages:,} messages)"
    return [
        Scenario("GET /login (anonymous)", [("GET", "/login", 200)]),
        Scenario("GET /index (logged in, follows 50)", [index], logged_in=True),
        # The same feed for a browser asking for Spanish: the cost of the translations.
        Scenario(SPANISH_FEED, [index], logged_in=True, accept_language="es-ES,es;q=0.9"),
        Scenario(f"GET /index ({FOLLOWS_MANY})", [index], logged_in=True, users=(FOLLOWS_MANY,)),
        Scenario(
            "GET /index (every post: link, mention, tag)",
            [index],
            logged_in=True,
            users=(LINK_READER,),
        ),
        Scenario(f"GET /user/{TEN_POSTS} (10 posts)", [("GET", f"/user/{TEN_POSTS}", 200)], True),
        Scenario(
            f"GET /user/{PROLIFIC} (10k posts) p1", [("GET", f"/user/{PROLIFIC}", 200)], True
        ),
        Scenario(
            f"GET /user/{PROLIFIC} (10k posts) last",
            [("GET", f"/user/{PROLIFIC}?page={last_page}", 200)],
            True,
        ),
        Scenario("GET /explore (anonymous) p1", [("GET", "/explore", 200)]),
        Scenario(
            f"GET /explore (anonymous) last, typed (page {explore_last})",
            [("GET", f"/explore?page={explore_last}", 200)],
        ),
        Scenario(
            "GET /explore (anonymous) last, by its Older link", [("GET", explore_last_link, 200)]
        ),
        Scenario(
            f"GET /post/{counts.thread} ({counts.thread_replies} replies)",
            [("GET", thread_path(counts), 200)],
            True,
        ),
        Scenario(f"{tagged} p1", [("GET", f"/tag/{BENCH_TAG}", 200)], True),
        Scenario(f"{tagged} last, by its Older link", [("GET", tag_last_link, 200)], True),
        Scenario(
            f"GET /api/v1/feed ({per_page} posts)",
            [("GET", "/api/v1/feed", 200)],
            True,
            users=tuple(map(api_user, READERS)),
            bearer=True,
        ),
        Scenario(
            "GET /api/v1/posts/<id> (one post)",
            [("GET", f"/api/v1/posts/{counts.thread}", 200)],
            True,
            users=tuple(map(api_user, READERS)),
            bearer=True,
        ),
        *(
            Scenario(f"GET /search?q={words} ({kind})", [("GET", search_path(words), 200)], True)
            for kind, words in SEARCHES.items()
        ),
        # As every open page polls: with the state its last answer gave (a 304).
        Scenario(
            f"GET {POLL_PATH} (poll, nothing new)",
            [("GET", f"{POLL_PATH}?since={NOTHING_NEW}", 304)],
            True,
        ),
        Scenario(f"{talk} p1", [("GET", CONVERSATION, 200)], True),
        Scenario(
            f"{talk} last, by its Earlier link", [("GET", conversation_last_link, 200)], True
        ),
        Scenario(
            f"GET /messages ({counts.conversations} conversations) p1",
            [("GET", "/messages", 200)],
            True,
        ),
        Scenario(
            f"GET /user/{CELEBRITY}/followers ({counts.celebrity_followers}) p1",
            [("GET", f"/user/{CELEBRITY}/followers", 200)],
            True,
        ),
        Scenario(f"POST /follow/{FOLLOW_TARGET} + /unfollow", [follow, unfollow], True),
        Scenario("GET 404 (anonymous)", [("GET", "/no/such/page", 404)]),
        Scenario(
            "mixed: 1 POST /index : 3 GETs",
            [
                ("POST", "/index", 302),
                index,
                ("GET", f"/user/{TEN_POSTS}", 200),
                ("GET", f"/user/{PROLIFIC}", 200),
            ],
            True,
        ),
        Scenario("GET failing page (email on)", [("GET", CRASH_PATH, 500)], server="crash"),
        Scenario(
            "64 conns x 4 workers, half POSTs (post, follow, unfollow)",
            [
                ("POST", "/index", 302),
                index,
                follow,
                ("GET", f"/user/{TEN_POSTS}", 200),
                unfollow,
                ("GET", "/explore", 200),
            ],
            True,
            server="stress",
            connections=64,
            threads=2,
            to_bare=False,
        ),
    ]


def chosen(scenarios: list[Scenario], only: list[str], variants: list[Variant]) -> list[Scenario]:
    """The scenarios named by ``--only`` (all without it) that every version can serve."""
    picked = [s for s in scenarios if not only or any(o.lower() in s.name.lower() for o in only)]
    if not picked:
        names = "\n  ".join(s.name for s in scenarios)
        raise SystemExit(f"no scenario's name contains {' or '.join(only)}; they are:\n  {names}")
    if not all((v.root / FAILING_APP).exists() for v in variants):
        print(f"the failing page is left out: a tree has no {FAILING_APP}")
        picked = [s for s in picked if s.server != "crash"]
    return picked


def serve_and_measure(
    wrk: str,
    args: argparse.Namespace,
    environment: dict[str, str],
    tmp: Path,
    variants: list[Variant],
    counts: SeedCounts,
) -> Measured:
    per_page = int(environment["POSTS_PER_PAGE"])
    explore_last = explore_last_page(counts, per_page)
    tag_last = tag_last_page(counts, per_page)
    with contextlib.ExitStack() as stack:

        def serve(variant: Variant, kind: str) -> Running:
            app, workers = SERVED[kind]
            name = f"{variant.name}-{kind}"
            served = serving(variant.root, app, name, environment, workers or args.workers, tmp)
            return stack.enter_context(served)

        # All servers run side by side; bare Flask is measured after every scenario, so
        # each ratio compares figures taken under the same load (the machine may be
        # shared and its load may change during the run).
        bare = stack.enter_context(
            serving(ROOT, "bench.bare_app:app", "bare", environment, args.workers, tmp)
        )
        servers = {(v, "app"): serve(v, "app") for v in variants}

        def log_in_everyone(kinds: set[str]) -> None:
            for key, server in servers.items():
                if key[1] in kinds:
                    names = (*READERS, FOLLOWS_MANY, LINK_READER)
                    sessions[key] = {name: log_in(server.url, name) for name in names}

        sessions: dict[tuple[Variant, str], Sessions] = {}
        log_in_everyone({"app"})
        url = servers[variants[-1], "app"].url
        reader = sessions[variants[-1], "app"][READERS[0]][0]
        last_links = [
            older_link(url, f"/explore?page={explore_last - 1}"),
            older_link(url, f"/tag/{BENCH_TAG}?page={tag_last - 1}"),
            older_link(
                url,
                f"{CONVERSATION}?page={conversation_last_page(counts, per_page) - 1}",
                "Earlier messages",
                reader,
            ),
        ]
        scenarios = chosen(all_scenarios(counts, per_page, *last_links), args.only, variants)
        for kind in sorted({s.server for s in scenarios} - {"app"}):
            servers.update({(v, kind): serve(v, kind) for v in variants})
        print(
            f"serving bare Flask and {', '.join(v.name for v in variants)} "
            f"({', '.join(sorted({kind for _, kind in servers}))})",
            flush=True,
        )
        log_in_everyone({"stress"})  # the failing page is anonymous
        if any(scenario.bearer for scenario in scenarios):
            for key, users in sessions.items():
                server_url = servers[key].url
                users.update({api_user(n): api_token(server_url, users[n]) for n in READERS})
        for variant in variants:
            logged_in = {name: cookie for name, (cookie, _) in sessions[variant, "app"].items()}
            check_pages(servers[variant, "app"].url, logged_in, per_page, counts, last_links)
            if any(scenario.bearer for scenario in scenarios):
                token = sessions[variant, "app"][api_user(READERS[0])][0].removeprefix("bearer=")
                check_api(servers[variant, "app"].url, token, per_page, counts.thread)
        # The working tree's app only: another version would need the probe in its tree.
        statements = sql_statements(environment, scenarios) if len(variants) == 1 else {}
        searched = search_costs(environment, scenarios)
        measured = measure_rounds(wrk, args, bare, servers, sessions, variants, scenarios, tmp)
        measured.statements = statements
        measured.search_costs = searched
        return measured


def check_pages(
    url: str, cookies: dict[str, str], per_page: int, counts: SeedCounts, last_links: list[str]
) -> None:
    """The pages are what the scenarios' names say, before anything is posted."""
    reader = cookies[READERS[0]]
    explore_link, tag_link, conversation_link = last_links
    last_pages = [
        f"/user/{PROLIFIC}?page={PROLIFIC_POSTS // per_page}",
        f"/explore?page={explore_last_page(counts, per_page)}",
        explore_link,
        tag_link,
    ]
    check_last_pages(url, reader, per_page, last_pages)
    check_follows(url, reader, READERS[0], FOLLOWING)
    check_follows(url, reader, FOLLOWS_MANY, counts.many_following)
    check_follows(url, reader, LINK_READER, counts.link_reader_following)
    check_thread(url, reader, thread_path(counts), counts.thread_replies, per_page)
    check_linked_feed(url, cookies[LINK_READER], per_page)
    for words in SEARCHES.values():
        check_search(url, reader, search_path(words), per_page)
    readers = [cookies[name] for name in READERS]
    check_poll(url, readers)
    check_conversation(url, readers, CONVERSATION, conversation_link, per_page)
    check_conversations(url, reader, per_page)


def sql_statements(environment: dict[str, str], scenarios: list[Scenario]) -> dict[str, list[str]]:
    """The statements of each GET page's request, counted in-process (bench/sql_counts.py)."""
    pages = [
        (s.name, s.users[0] if s.logged_in else "", path, status)
        for s in scenarios
        if s.server == "app" and s.to_bare
        for method, path, status in s.requests[:1]
        if len(s.requests) == 1 and method == "GET" and status in (200, 304)
    ]
    if not pages:
        return {}
    done = run_python(environment, "-m", "bench.sql_counts", json.dumps(pages))
    if done.returncode != 0:
        raise SystemExit(f"counting the SQL statements failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def search_costs(environment: dict[str, str], scenarios: list[Scenario]) -> list[str]:
    """The lines of bench/search_costs.py for the searches among ``scenarios``."""
    names = {s.name for s in scenarios}
    wanted = [w for kind, w in SEARCHES.items() if f"GET /search?q={w} ({kind})" in names]
    if not wanted:
        return []
    done = run_python(environment, "-m", "bench.search_costs", *wanted)
    if done.returncode != 0:
        raise SystemExit(f"timing the searches failed:\n{done.stdout}{done.stderr}")
    return done.stdout.splitlines()


def measure_rounds(
    wrk: str,
    args: argparse.Namespace,
    bare: Running,
    servers: dict[tuple[Variant, str], Running],
    sessions: dict[tuple[Variant, str], Sessions],
    variants: list[Variant],
    scenarios: list[Scenario],
    tmp: Path,
) -> Measured:
    """Each scenario on each version, then bare Flask; ``--rounds`` times over."""
    results: dict[tuple[str, str], list[Result]] = defaultdict(list)
    ceilings = measure(wrk, [Tally(bare, {})], BARE, args)
    # With two versions, they take turns of 1 s (wrk counts whole seconds).
    turns = args.duration if len(variants) > 1 else 1
    for round_index in range(args.rounds):
        if args.rounds > 1:
            print(f"round {round_index + 1} of {args.rounds}", flush=True)
        for index, scenario in enumerate(scenarios):
            # Which version goes first alternates, scenario to scenario and round to
            # round: neither is always the one measured on a warmer (or busier) machine.
            order = variants if (round_index + index) % 2 == 0 else variants[::-1]
            tallies = [
                Tally(
                    servers[variant, scenario.server],
                    sessions.get((variant, scenario.server), {}),
                    variant.name if len(variants) > 1 else "",
                )
                for variant in order
            ]
            taken = zip(order, measure(wrk, tallies, scenario, args, turns), strict=True)
            ceilings += measure(wrk, [Tally(bare, {})], BARE, args, warm=False)
            earlier, later = ceilings[-2:]
            for variant, result in taken:
                if scenario.to_bare:
                    result.ceiling = (earlier.rps + later.rps) / 2
                    result.ratio = result.rps / result.ceiling
                    result.ceiling_cpu_ms = (earlier.cpu_ms + later.cpu_ms) / 2
                results[variant.name, scenario.name].append(result)
    locked = {
        v.name: count_in_logs(tmp, f"{v.name}-stress", "database is locked")
        for v in variants
        if (v, "stress") in servers
    }
    names = [s.name for s in scenarios]
    return Measured([v.name for v in variants], names, dict(results), ceilings, locked)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds per scenario")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--against",
        metavar="REV",
        help="measure git revision REV (before) beside the working tree (after)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="run every scenario this many times and report medians (default 3 with "
        "--against, 1 without)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SUBSTRING",
        help="run only the scenarios whose name contains SUBSTRING (any case; repeatable)",
    )
    parser.add_argument(
        "--posts",
        type=int,
        default=100_000,
        help=f"seeded posts (default 100,000; at least {FEWEST_POSTS:,}): pages whose "
        "cost should not grow with the posts, measured on a smaller timeline",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url", help="an EMPTY database to use instead of a fresh SQLite file"
    )
    where.add_argument(
        "--postgres",
        action="store_true",
        help="start a private PostgreSQL server (testkit.services.postgres) and use it",
    )
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.against else 1
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.posts < FEWEST_POSTS:
        parser.error(f"--posts must be at least {FEWEST_POSTS}")
    return args


def stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM ends the run as Ctrl-C does: its servers stop, its worktree goes."""
    sys.exit(128 + signum)


def main() -> None:
    args = parse_arguments()
    wrk = find_wrk()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    with contextlib.ExitStack() as stack:
        if args.against:
            before = stack.enter_context(checked_out(args.against))
            require_same_schema(before, args.against)
            variants = [Variant("before", before), Variant("after", ROOT)]
            labels = {"before": describe(args.against), "after": working_tree_description()}
            print(f"before: {labels['before']}, checked out in {before}", flush=True)
            print(f"after: {labels['after']}", flush=True)
        else:
            variants = [Variant("Microblog", ROOT)]
        if args.postgres:
            args.database_url = stack.enter_context(private_postgres())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="microblog-bench-")))
        # Production defaults, rate limits included: the benchmark logs in its 10 users
        # once per server, within the limit of the POSTs that check a password (10 a
        # minute). The POSTs that write a post are limited too, to 20 a minute per user:
        # the scenarios that post would measure 429 pages, so their allowance is one
        # they never spend, and the limiter still counts every such POST. The app's
        # default page size is set explicitly, so that a developer's .env cannot change
        # which page of the prolific user is the last one.
        environment = production_environment(
            tmp,
            POSTS_PER_PAGE=str(Config.POSTS_PER_PAGE),
            RATELIMIT_WRITING=UNSPENT_WRITING_LIMIT,
            # Every API call counts against its token's allowance (300 a minute): the
            # API's scenarios would measure 429s. The limiter still counts every call.
            RATELIMIT_API=UNSPENT_API_LIMIT,
        )
        if args.database_url:
            environment["DATABASE_URL"] = args.database_url
        # The working tree's migrations: both versions' heads were checked to match.
        counts = prepare_database(environment, args.posts)
        sink = stack.enter_context(smtp_sink())
        environment.update(
            MAIL_SERVER=sink.host, MAIL_PORT=str(sink.port), ADMINS="bench@example.com"
        )
        measured = serve_and_measure(wrk, args, environment, tmp, variants, counts)
        measured.emails = len(sink.inbox.messages)
    if args.against:
        print_comparison(measured, args, environment["DATABASE_URL"], labels)
    else:
        print_report(measured, args, environment["DATABASE_URL"])


if __name__ == "__main__":
    main()
