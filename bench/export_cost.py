"""The cost of an export: its seconds and the worker's peak memory, and the pages'
throughput while exports run.

    venv/bin/python -m bench.export_cost [--rounds 3] [--duration 10] [--postgres]

Seeds a fresh database as bench/run.py does with its smallest timeline (10,500
posts: ``prolific`` has 10,000 of them; see bench/seed.py) and gives ``prolific``
1,000 messages (10 conversations of 100, each written both ways, all read;
bench/conversations.py), starts a private Redis,
the real app under gunicorn with the production settings (2 workers, rate limits
and jobs on that Redis, as deploy/ runs them) and one job worker
(``flask jobs worker``, RQ), then:

1. exports ``prolific``'s account through the site (POST /account/export, then the
   status until it is done), --rounds times. Prints each export's seconds (from
   the request to the file, as the job's row records them), the worker's CPU
   seconds, its resident memory before and its peak during the export (VmHWM,
   reset before each), and the file's size.
2. measures the home feed (GET /index of the benchmark's readers, follows 50) with
   wrk, --rounds times each without and with exports running (one after another,
   for the whole run, in the one worker), alternating; prints req/s of each and the share of
   the time the worker was on a CPU. The worker runs at its default niceness
   (``flask jobs worker --nice``, 10), as deploy/ runs it.
3. adds posts to ``prolific`` up to 100,000 and exports it again, --rounds times:
   ten times the rows and the file, and the same peak, if the export streams.

The messages go in the export with the rest, as ``messages.json``
(app/account_data/owned.py). Needs wrk and redis-server
(testkit/install-system-packages.sh installs them).
"""

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import sqlalchemy as sa

from app.database import utcnow
from app.jobs.models import EXPORT, Job
from app.models import ConversationMember, Message, User
from bench.conversations import insert_messages
from bench.probes import cpu_seconds, peak_rss_kib, reset_peak_rss
from bench.run import AGENT, Scenario, find_wrk, log_in, run_wrk
from bench.seed import PASSWORD, PROLIFIC, READERS, seed
from testkit.clients import Auth, LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.postgres import private_postgres
from testkit.services.processes import wait_until
from testkit.services.production import add_posts, production_environment, upgrade_database
from testkit.services.redis import redis_server
from testkit.services.worker import job_worker

BIGGER = 100_000  # prolific's posts for the second measurement
# prolific's messages: so many conversations of so many each (issue 29: 1,000 in all).
CONVERSATIONS, MESSAGES_EACH = 10, 100
HELD = ("posts", "messages")  # what each export's file is counted for (its <kind>.json)
POSTS = 10_500  # bench.run.FEWEST_POSTS: prolific's 10,000 and the rest
HOME_FEED = Scenario("GET /index (logged in, follows 50)", [("GET", "/index", 200)], True)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Exporter:
    """``prolific``'s browser: starts an export through the site and waits for it.

    It waits by reading the job's row, not the status page: its waiting must not
    load the web servers whose throughput is measured beside it.
    """

    def __init__(self, base: str, database_url: str) -> None:
        self.engine = sa.create_engine(database_url)
        self.browser = LiveClient(base, headers={"User-Agent": AGENT})
        reply = Auth(self.browser).login(PROLIFIC, PASSWORD)
        if reply.status != 302:
            raise SystemExit(f"logging in {PROLIFIC} failed: {reply.status}")

    def status(self) -> dict:
        return json.loads(self.browser.get("/account/export/status").text)

    def state(self) -> str | None:
        with self.engine.connect() as connection:
            return connection.scalar(
                sa.select(Job.state).where(Job.kind == EXPORT).order_by(Job.id.desc()).limit(1)
            )

    def export(self, timeout: float = 600) -> None:
        if self.browser.submit("/account/export", {}).status != 302:
            raise SystemExit("the export could not be started")
        finished = wait_until(lambda: self.state() in ("done", "failed"), timeout, 0.02)
        if not finished or self.state() != "done":
            raise SystemExit(f"the export did not finish: {self.status()}")


def job_seconds(database_url: str) -> tuple[float, str]:
    """The last export's seconds, from its request to its file, and the file's name."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(Job.created_at, Job.finished_at, Job.file_name)
            .where(Job.kind == EXPORT)
            .order_by(Job.id.desc())
            .limit(1)
        ).one()
    engine.dispose()
    return (row.finished_at - row.created_at).total_seconds(), row.file_name


def add_messages(database_url: str) -> int:
    """Give ``prolific`` its conversations (CONVERSATIONS of MESSAGES_EACH) with plain users;
    return how many messages its conversations hold, counted back."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            ids = dict(connection.execute(sa.select(User.username, User.id)).all())
            plain = sorted(user for name, user in ids.items() if name.startswith("user"))
            others = plain[:CONVERSATIONS]
            pairs = [(ids[PROLIFIC], other, MESSAGES_EACH) for other in others]
            insert_messages(connection, pairs, utcnow())
            mine = sa.select(ConversationMember.conversation_id).where(
                ConversationMember.user_id == ids[PROLIFIC]
            )
            counted = sa.select(sa.func.count()).where(Message.conversation_id.in_(mine))
            return connection.scalar(counted)
    finally:
        engine.dispose()


def measure_exports(
    exporter: Exporter, worker: int, environment: dict, rounds: int, posts: int, messages: int
) -> None:
    print(
        f"\nExport of {PROLIFIC} ({posts:,} posts, {messages:,} messages in "
        f"{CONVERSATIONS} conversations, its follows and sign-ins):"
    )
    for number in range(1, rounds + 1):
        before_kib = resident_kib(worker)
        reset_peak_rss([worker])
        cpu_before = cpu_seconds(worker)
        exporter.export()
        seconds, name = job_seconds(environment["DATABASE_URL"])
        file = Path(environment["EXPORT_DIR"]) / name
        size = file.stat().st_size
        with zipfile.ZipFile(file) as archive:
            held = {kind: len(json.loads(archive.read(f"{kind}.json"))) for kind in HELD}
        peak = peak_rss_kib(worker) or 0
        print(
            f"  round {number}: {seconds:.2f} s, "
            f"worker CPU {cpu_seconds(worker) - cpu_before:.2f} s, "
            f"worker memory {before_kib / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB "
            f"(+{(peak - before_kib) / 1024:.1f} MiB), file {size / 1024:.0f} KiB "
            f"({', '.join(f'{count:,} {kind}' for kind, count in held.items())})",
            flush=True,
        )


def measure_feed(base: str, exporter: Exporter, worker: int, args: argparse.Namespace) -> None:
    wrk = find_wrk()
    sessions = {name: log_in(base, name) for name in READERS}
    run_wrk(wrk, base, HOME_FEED, 2, args.connections, sessions)  # warm-up
    rates: dict[str, list[float]] = {"without an export": [], "while exports run": []}
    made = []
    for number in range(args.rounds):
        for label in (
            ("without an export", "while exports run")
            if number % 2 == 0
            else ("while exports run", "without an export")
        ):
            stop = threading.Event()
            count = [0]
            exporting_seconds = [0.0]

            def keep_exporting(
                stop: threading.Event = stop, count: list = count, spent: list = exporting_seconds
            ) -> None:
                while not stop.is_set():
                    started = time.monotonic()
                    exporter.export()
                    spent[0] += time.monotonic() - started
                    count[0] += 1

            exporting = label == "while exports run"
            runner = threading.Thread(target=keep_exporting) if exporting else None
            if runner is not None:
                runner.start()
                wait_until(lambda: exporter.state() == "running", 30, 0.02)
            cpu_before = cpu_seconds(worker)
            summary = run_wrk(wrk, base, HOME_FEED, args.duration, args.connections, sessions)
            busy = (cpu_seconds(worker) - cpu_before) / args.duration
            if runner is not None:
                stop.set()
                runner.join()
                made.append(count[0])
            rate = summary["requests"] / (summary["duration_us"] / 1e6)
            rates[label].append(rate)
            during = (
                f"; {count[0]} exports, one under way "
                f"{min(exporting_seconds[0] / args.duration, 1):.0%} "
                "of the time"
                if exporting
                else ""
            )
            print(
                f"  {HOME_FEED.name}, {label}: {rate:.0f} req/s "
                f"(job worker on a CPU {busy:.0%} of the time{during})",
                flush=True,
            )
    without, during = (statistics.median(rates[key]) for key in rates)
    print(
        f"\nHome feed, medians of {args.rounds} rounds of {args.duration} s: "
        f"{without:.0f} req/s without an export, {during:.0f} req/s while exports run "
        f"({(during / without - 1) * 100:+.1f} %; {sum(made)} exports made meanwhile)"
    )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--postgres", action="store_true", help="a private PostgreSQL")
    return parser.parse_args()


def main() -> None:
    args = parse_arguments()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="microblog-export-")))
        redis_url = stack.enter_context(redis_server())
        settings = {"RATELIMIT_STORAGE_URI": redis_url, "EXPORT_DIR": str(tmp / "exports")}
        if args.postgres:
            server = stack.enter_context(private_postgres())
            settings["DATABASE_URL"] = server
        environment = production_environment(tmp, **settings)
        upgrade_database(environment)
        started = time.monotonic()
        counts = seed(environment["DATABASE_URL"], posts=POSTS)
        messages = add_messages(environment["DATABASE_URL"])
        print(
            f"seeded: {counts.posts} posts, {counts.prolific_posts} of them {PROLIFIC}'s, "
            f"and {messages:,} messages of {PROLIFIC}'s in {time.monotonic() - started:.1f} s",
            flush=True,
        )
        site = stack.enter_context(
            gunicorn_server(environment=environment, output=tmp / "gunicorn.log", workers=2)
        )
        worker = stack.enter_context(job_worker(environment, tmp / "worker.log"))
        print(
            f"gunicorn (2 workers) {site.url}, job worker pid {worker.pid}, Redis {redis_url}, "
            f"{'PostgreSQL' if args.postgres else 'SQLite'}",
            flush=True,
        )
        exporter = Exporter(site.url, environment["DATABASE_URL"])
        measure_exports(
            exporter, worker.pid, environment, args.rounds, counts.prolific_posts, messages
        )
        measure_feed(site.url, exporter, worker.pid, args)
        more = BIGGER - counts.prolific_posts
        add_posts(environment["DATABASE_URL"], PROLIFIC, more, "Another post, number {n}")
        measure_exports(exporter, worker.pid, environment, args.rounds, BIGGER, messages)


if __name__ == "__main__":
    sys.exit(main())
