"""Benchmark Microblog under gunicorn against a ceiling (bare Flask); print a table.

    venv/bin/python -m bench.run [--workers 2] [--duration 5] [--database-url URL | --postgres]

Seeds a fresh database (1,000 users, 100,000 posts, one user with 10,000 of them,
one with 10; every user following 50 others, ``celebrity`` followed by all,
``follows500`` following 500: see bench/seed.py), starts the real app in
production mode with deploy/gunicorn.conf.py (email reports on, to a local SMTP
server; rate limits on, as in production), then the same server settings around
a bare Flask app (the ceiling), and drives each scenario with wrk from its own
process. Statuses are checked against the gunicorn access log, so every 404 or 500
that should not be there is counted. Needs wrk (testkit/install-system-packages.sh
installs it).
"""

import argparse
import contextlib
import html
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.probes import child_pids, cpu_seconds, peak_rss_kib, reset_peak_rss
from bench.seed import (
    CELEBRITY,
    FOLLOW_TARGET,
    FOLLOWING,
    FOLLOWS_MANY,
    PASSWORD,
    PROLIFIC,
    PROLIFIC_POSTS,
    READERS,
    TEN_POSTS,
    SeedCounts,
    seed,
)
from config import Config
from testkit.clients import Auth, LiveClient, token_in
from testkit.services.gunicorn import gunicorn_server
from testkit.services.postgres import private_postgres
from testkit.services.processes import SETUP_SCRIPT, Server
from testkit.services.production import production_environment, upgrade_database
from testkit.services.smtp import smtp_sink

LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"
AGENT = "microblog-bench"
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<uri>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')
CRASH_PATH = "/crash/"  # testkit.crashing_app's failing page


@dataclass
class Scenario:
    name: str
    requests: list[tuple[str, str, int]]  # method, path, expected status
    logged_in: bool = False
    users: tuple[str, ...] = READERS  # whose sessions a logged-in scenario uses, in turn


@dataclass
class Result:
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    unexpected: int
    socket_errors: int
    peak_rss_mib: float
    cpu_ms: float  # workers' CPU time per request: steadier than req/s on a busy machine
    statuses: Counter = field(default_factory=Counter)
    ceiling: float = 0.0
    ratio: float = 0.0
    ceiling_cpu_ms: float = 0.0


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


def prepare_database(environment: dict[str, str]) -> SeedCounts:
    upgrade_database(environment)
    started = time.monotonic()
    counts = seed(environment["DATABASE_URL"])
    print(f"seeded: {counts} in {time.monotonic() - started:.1f} s", flush=True)
    return counts


def log_in(base: str, username: str) -> tuple[str, str]:
    """Log in like a browser; return the session cookie and a CSRF token for forms."""
    browser = LiveClient(base, headers={"User-Agent": AGENT})
    reply = Auth(browser).login(username, PASSWORD)
    if reply.status != 302 or not reply.headers["Location"].endswith("/index"):
        raise SystemExit(f"logging in {username} failed: {reply.status}")
    home = browser.get("/index")
    return f"session={browser.cookie('session')}", token_in(home.text, "/index")


Sessions = dict[str, tuple[str, str]]  # username: (session cookie, CSRF token)


def older_link(base: str, path: str) -> str:
    """Where the "Older posts" link of the page at ``path`` leads."""
    page = LiveClient(base, headers={"User-Agent": AGENT}).get(path).text
    found = re.search(r'href="([^"]+)">Older posts', page)
    if found is None:
        raise SystemExit(f"{path} has no Older posts link")
    return html.unescape(found.group(1))


def check_last_pages(
    base: str, session: str, per_page: int, explore_last: int, explore_last_link: str
) -> None:
    """The "last page" scenarios must really be last pages, full of posts."""
    browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
    for path in (
        f"/user/{PROLIFIC}?page={PROLIFIC_POSTS // per_page}",
        f"/explore?page={explore_last}",
        explore_last_link,
    ):
        page = browser.get(path).text
        if page.count('class="list-group-item') != per_page or "Older posts" in page:
            raise SystemExit(f"{path} is not a full last page")


def check_follows(base: str, session: str, username: str, following: int) -> None:
    """A home feed scenario must be that of a user following that many people."""
    browser = LiveClient(base, headers={"Cookie": session, "User-Agent": AGENT})
    profile = browser.get(f"/user/{username}").text
    if f">{following} following</a>" not in profile:
        raise SystemExit(f"{username} does not follow {following} people")


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
    wrk: str,
    url: str,
    scenario: Scenario,
    seconds: int,
    connections: int,
    threads: int,
    sessions: Sessions,
) -> dict[str, float]:
    used = [sessions[name] for name in scenario.users] if scenario.logged_in else []
    environment = {
        **os.environ,
        "BENCH_REQUESTS": "\n".join(f"{method} {path}" for method, path, _ in scenario.requests),
        "BENCH_SESSIONS": "\n".join(f"{cookie} {token}" for cookie, token in used),
        "BENCH_AGENT": AGENT,
    }
    command = [
        wrk,
        f"-t{threads}",
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


def measure(
    wrk: str,
    server: Running,
    scenario: Scenario,
    args: argparse.Namespace,
    sessions: Sessions,
    connections: int | None = None,
    threads: int = 1,
    warm: bool = True,
) -> Result:
    connections = connections or args.connections
    print(f"  {scenario.name} ...", end="", flush=True)
    if warm and args.warmup:
        run_wrk(wrk, server.url, scenario, args.warmup, connections, threads, sessions)
        time.sleep(0.3)
    _, offset = read_access_log(server.access_log, 0)
    workers = server.worker_pids()
    reset_peak_rss(workers)
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    summary = run_wrk(wrk, server.url, scenario, args.duration, connections, threads, sessions)
    cpu_used = sum(cpu_seconds(pid) for pid in workers) - cpu_before
    time.sleep(0.5)  # the last responses' log lines
    entries, _ = read_access_log(server.access_log, offset)
    expected = {(method, path): status for method, path, status in scenario.requests}
    statuses = Counter(status for _, _, status in entries)
    unexpected = sum(1 for m, uri, status in entries if expected.get((m, uri)) != status)
    peaks = [peak_rss_kib(pid) or 0 for pid in workers]
    result = Result(
        scenario=scenario.name,
        rps=summary["requests"] / (summary["duration_us"] / 1e6),
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        unexpected=unexpected,
        socket_errors=int(
            summary["connect"] + summary["read"] + summary["write"] + summary["timeout"]
        ),
        peak_rss_mib=max(peaks, default=0) / 1024,
        cpu_ms=cpu_used * 1000 / max(summary["requests"], 1),
        statuses=statuses,
    )
    print(f" {result.rps:.0f} req/s", flush=True)
    return result


@contextlib.contextmanager
def serving(
    app: str, name: str, environment: dict[str, str], workers: int, tmp: Path
) -> Iterator[Running]:
    """One gunicorn server with the production settings; its files are named after it."""
    access_log = tmp / f"{name}-access.log"
    with gunicorn_server(
        app,
        environment={**environment, "LOG_DIR": str(tmp / f"{name}-logs")},
        output=tmp / f"{name}-gunicorn.log",
        workers=workers,
        options=["--access-logfile", str(access_log)],
    ) as server:
        yield Running(server, access_log)


def count_in_logs(tmp: Path, name: str, text: str) -> int:
    """Occurrences of ``text`` in one server's app log files and gunicorn error log."""
    files = [*(tmp / f"{name}-logs").glob("*.log*"), tmp / f"{name}-gunicorn.log"]
    return sum(path.read_text(errors="replace").count(text) for path in files if path.exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds per scenario")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
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
    wrk = find_wrk()
    # The app's default page size, set explicitly so that a developer's .env cannot
    # change which page of the prolific user is the last one.
    per_page = Config.POSTS_PER_PAGE

    with contextlib.ExitStack() as stack:
        if args.postgres:
            args.database_url = stack.enter_context(private_postgres())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="microblog-bench-")))
        # Production defaults, rate limits included: only POSTs that check a password
        # are limited, and the benchmark logs in its 9 users once, under the limit.
        environment = production_environment(tmp, POSTS_PER_PAGE=str(per_page))
        if args.database_url:
            environment["DATABASE_URL"] = args.database_url
        counts = prepare_database(environment)
        sink = stack.enter_context(smtp_sink())
        environment.update(
            MAIL_SERVER=sink.host, MAIL_PORT=str(sink.port), ADMINS="bench@example.com"
        )
        ceilings, results, stressed, checks = run_scenarios(
            wrk, args, environment, tmp, per_page, counts
        )
        checks["emails"] = len(sink.inbox.messages)
    print_report(ceilings, results, stressed, checks, args, environment["DATABASE_URL"])


def run_scenarios(
    wrk: str,
    args: argparse.Namespace,
    environment: dict[str, str],
    tmp: Path,
    per_page: int,
    counts: SeedCounts,
) -> tuple[list[Result], list[Result], Result, dict[str, int]]:
    last_page = PROLIFIC_POSTS // per_page
    # Nothing is posted before the explore scenarios have run: this stays the last page.
    explore_last = -(-counts.posts // per_page)
    follow = ("POST", f"/follow/{FOLLOW_TARGET}", 302)
    unfollow = ("POST", f"/unfollow/{FOLLOW_TARGET}", 302)
    bare = Scenario("bare Flask ceiling", [("GET", "/", 200)])
    crash = Scenario("GET failing page (email on)", [("GET", CRASH_PATH, 500)])
    stress = Scenario(
        "64 conns x 4 workers, half POSTs (post, follow, unfollow)",
        [
            ("POST", "/index", 302),
            ("GET", "/index", 200),
            follow,
            ("GET", f"/user/{TEN_POSTS}", 200),
            unfollow,
            ("GET", "/explore", 200),
        ],
        True,
    )
    workers = args.workers
    results: list[Result] = []
    ceilings: list[Result] = []
    # All three servers run side by side; the ceiling is measured before and
    # after every scenario, so each ratio compares figures taken under the same load
    # (the machine may be shared and its load may change during the run).
    print(f"bare Flask, Microblog and Microblog with a failing page, {workers} workers each")
    with (
        serving("bench.bare_app:app", "bare", environment, workers, tmp) as bare_server,
        serving("microblog:app", "app", environment, workers, tmp) as app_server,
        serving("testkit.crashing_app:app", "crash", environment, workers, tmp) as crash_server,
    ):
        sessions = {name: log_in(app_server.url, name) for name in (*READERS, FOLLOWS_MANY)}
        reader = sessions[READERS[0]][0]
        explore_last_link = older_link(app_server.url, f"/explore?page={explore_last - 1}")
        check_last_pages(app_server.url, reader, per_page, explore_last, explore_last_link)
        scenarios = [
            Scenario("GET /login (anonymous)", [("GET", "/login", 200)]),
            Scenario(
                "GET /index (logged in, follows 50)", [("GET", "/index", 200)], logged_in=True
            ),
            Scenario(
                f"GET /index ({FOLLOWS_MANY})",
                [("GET", "/index", 200)],
                logged_in=True,
                users=(FOLLOWS_MANY,),
            ),
            Scenario(
                f"GET /user/{TEN_POSTS} (10 posts)", [("GET", f"/user/{TEN_POSTS}", 200)], True
            ),
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
                "GET /explore (anonymous) last, by its Older link",
                [("GET", explore_last_link, 200)],
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
                    ("GET", "/index", 200),
                    ("GET", f"/user/{TEN_POSTS}", 200),
                    ("GET", f"/user/{PROLIFIC}", 200),
                ],
                True,
            ),
        ]
        check_follows(app_server.url, reader, READERS[0], FOLLOWING)
        check_follows(app_server.url, reader, FOLLOWS_MANY, counts.many_following)
        ceilings.append(measure(wrk, bare_server, bare, args, {}))
        plan = [(app_server, scenario) for scenario in scenarios]
        plan.append((crash_server, crash))
        for server, scenario in plan:
            results.append(measure(wrk, server, scenario, args, sessions))
            ceilings.append(measure(wrk, bare_server, bare, args, {}, warm=False))
    for n, result in enumerate(results):
        result.ceiling = (ceilings[n].rps + ceilings[n + 1].rps) / 2
        result.ratio = result.rps / result.ceiling
        result.ceiling_cpu_ms = (ceilings[n].cpu_ms + ceilings[n + 1].cpu_ms) / 2
    crashed = results[-1]

    print("Microblog, 4 workers, 64 connections", flush=True)
    with serving("microblog:app", "stress", environment, 4, tmp) as server:
        sessions = {name: log_in(server.url, name) for name in READERS}
        stressed = measure(wrk, server, stress, args, sessions, connections=64, threads=2)
    checks = {
        "stress_500s": stressed.statuses[500],
        "stress_locked": count_in_logs(tmp, "stress", "database is locked"),
        "crash_500s": crashed.statuses[500],
    }
    return ceilings, results, stressed, checks


def print_report(
    ceilings: list[Result],
    results: list[Result],
    stressed: Result,
    checks: dict[str, int],
    args: argparse.Namespace,
    database_url: str,
) -> None:
    by_name = {r.scenario: r for r in results}
    bare = [c.rps for c in ceilings]
    print()
    print(
        f"Microblog benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        f"gunicorn {args.workers} sync workers, wrk {args.connections} connections, "
        f"{args.duration:g} s per scenario after {args.warmup:g} s warm-up, "
        f"{'SQLite' if database_url.startswith('sqlite') else 'PostgreSQL'}"
    )
    print(f"machine: {machine_description()}")
    print()
    print(
        "| scenario | req/s | p50 ms | p99 ms | unexpected status | socket errors "
        "| peak RSS/worker MiB | worker CPU ms/req | ceiling req/s | ratio | CPU ratio |"
    )
    print("| --- |" + " ---: |" * 10)
    rows = [*results, stressed]
    for r in rows:
        ceiling = f"{r.ceiling:.0f}" if r.ceiling else "-"
        ratio = f"{r.ratio:.2f}" if r.ceiling else "-"
        cpu_ratio = f"{r.ceiling_cpu_ms / r.cpu_ms:.2f}" if r.ceiling and r.cpu_ms else "-"
        print(
            f"| {r.scenario} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.unexpected} "
            f"| {r.socket_errors} | {r.peak_rss_mib:.0f} | {r.cpu_ms:.2f} | {ceiling} | {ratio} "
            f"| {cpu_ratio} |"
        )
    print()
    print(
        f"ceiling: bare Flask measured {len(bare)} times, between the scenarios: "
        f"{min(bare):.0f} to {max(bare):.0f} req/s, "
        f"{min(c.cpu_ms for c in ceilings):.2f} to {max(c.cpu_ms for c in ceilings):.2f} "
        f"worker CPU ms/req (peak RSS/worker {max(c.peak_rss_mib for c in ceilings):.0f} MiB);"
        " each ratio uses the mean of the runs just before and after its scenario"
    )
    print(
        "ratio = req/s over the ceiling's req/s (the targets); CPU ratio = the ceiling's "
        "worker CPU per request over the scenario's (the same comparison, steadier when "
        "other processes share the CPUs)"
    )
    print(f"failure reports received by the local SMTP server: {checks['emails']}")
    print()

    def scenario(prefix: str) -> Result:
        return next(r for name, r in by_name.items() if name.startswith(prefix))

    def cpu_ratio(prefix: str) -> float:
        found = scenario(prefix)
        return found.ceiling_cpu_ms / found.cpu_ms

    logged_in = [
        "GET /index (logged in, follows 50)",
        f"GET /user/{TEN_POSTS}",
        f"GET /user/{PROLIFIC} (10k posts) p1",
        f"GET /user/{PROLIFIC} (10k posts) last",
        f"GET /index ({FOLLOWS_MANY}",
        f"GET /user/{CELEBRITY}/followers",
    ]
    lowest = min(logged_in, key=lambda name: scenario(name).ratio)
    lowest_cpu = min(cpu_ratio(name) for name in logged_in)
    feed, ten, first, last, feed_many = (scenario(name) for name in logged_in[:5])
    explore_first, explore_last = (
        scenario("GET /explore (anonymous) p1"),
        scenario("GET /explore (anonymous) last, by its Older link"),
    )
    explore_typed = scenario("GET /explore (anonymous) last, typed")

    def at_least(prefix: str, target: float) -> tuple[bool, str]:
        found = scenario(prefix).ratio
        return found >= target, f"{found:.2f} (CPU ratio {cpu_ratio(prefix):.2f})"

    # Profiles are compared through their ratios: each is already normalised by
    # the ceiling measured around it.
    # Issue 16's targets: the logged-in GET pages and explore (the follows500 feed
    # and explore's typed page 5,000 aside: their queries grow with the data, the
    # targets of issue 12).
    logged_in_gets = [name for name in logged_in if FOLLOWS_MANY not in name] + [
        "GET /explore (anonymous) p1",
        "GET /explore (anonymous) last, by its Older link",
    ]
    lowest16 = min(logged_in_gets, key=lambda name: scenario(name).ratio)
    targets = [
        (
            "logged-in GET pages and explore >= 0.30 of ceiling",
            scenario(lowest16).ratio >= 0.30,
            f"lowest {scenario(lowest16).ratio:.2f}, {scenario(lowest16).scenario} "
            f"(lowest CPU ratio {min(cpu_ratio(name) for name in logged_in_gets):.2f})",
        ),
        ("/login >= 0.45 of ceiling", *at_least("GET /login", 0.45)),
        ("failing page >= 0.30 of ceiling, email on", *at_least("GET failing", 0.30)),
        ("404 page >= 0.5 of ceiling", *at_least("GET 404", 0.5)),
        (
            "(earlier target) all logged-in GET pages >= 0.35 of ceiling",
            scenario(lowest).ratio >= 0.35,
            f"lowest {scenario(lowest).ratio:.2f}, {scenario(lowest).scenario} "
            f"(lowest CPU ratio {lowest_cpu:.2f})",
        ),
        (
            "10k-post profile p1 within 15% of 10-post",
            first.ratio >= 0.85 * ten.ratio,
            f"p1/10-post = {first.ratio / ten.ratio:.2f} "
            f"(by CPU per request {ten.cpu_ms / first.cpu_ms:.2f})",
        ),
        (
            "10k-post last page within 2x of p1",
            last.ratio >= first.ratio / 2,
            f"last/p1 = {last.ratio / first.ratio:.2f} "
            f"(by CPU per request {first.cpu_ms / last.cpu_ms:.2f})",
        ),
        (
            f"home feed of {FOLLOWS_MANY} within 1.3x the cost of a user following 50",
            feed_many.ratio >= feed.ratio / 1.3,
            f"{feed.ratio / feed_many.ratio:.2f}x "
            f"(by CPU per request {feed_many.cpu_ms / feed.cpu_ms:.2f}x)",
        ),
        (
            "explore last page (by its Older link) within 2x the cost of p1",
            explore_last.ratio >= explore_first.ratio / 2,
            f"{explore_first.ratio / explore_last.ratio:.2f}x "
            f"(by CPU per request {explore_last.cpu_ms / explore_first.cpu_ms:.2f}x); "
            f"typed page number {explore_first.ratio / explore_typed.ratio:.2f}x",
        ),
        (
            "64 conns x 4 workers, with follows and unfollows: 0 errors "
            "(no 500, no 'database is locked', no unexpected status, no socket error)",
            not (
                checks["stress_500s"]
                or checks["stress_locked"]
                or stressed.unexpected
                or stressed.socket_errors
            ),
            f"{checks['stress_500s']} x 500, {checks['stress_locked']} x locked, "
            f"{stressed.unexpected} unexpected, {stressed.socket_errors} socket errors",
        ),
    ]
    print("targets (on req/s ratios, as the issue defines them; CPU figures alongside):")
    for name, met, figure in targets:
        print(f"  [{'met' if met else 'NOT MET'}] {name}: {figure}")


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem_kib / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
