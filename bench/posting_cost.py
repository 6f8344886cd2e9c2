"""What the search index adds to posting: POST /index with the index and without it.

    venv/bin/python -m bench.posting_cost [--postgres] [--posts 100000] [--rounds 6]

Seeds a fresh database as bench/run.py does (a SQLite file, or a private PostgreSQL
server), then, in a fresh process with the servers' production settings, posts
through the app in-process (the Flask test client, logged in as a reader, with
its CSRF token): ``--rounds`` rounds of ``--per-round`` posts with the index and
as many without, in an order that alternates from round to round. Without the
index means: SQLite's three triggers dropped (the FTS5 table stays, unchanged);
PostgreSQL's tsvector column and its GIN index dropped; both made again before the
next posts with the index (posts written meanwhile are not indexed: a throwaway
database). Prints,
per kind, the medians of the rounds: wall time per POST (the posting time; on
PostgreSQL it includes the server's work) and this process's CPU time per POST.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app import create_app
from app.extensions import db
from app.search.index import POSTGRESQL_INDEX, SQLITE_INDEX
from bench.seed import PASSWORD, READERS, seed
from testkit.clients import Auth, csrf_token
from testkit.services.postgres import private_postgres
from testkit.services.production import production_environment, run_python, upgrade_database

UNSPENT_WRITING_LIMIT = "1000000 per minute"  # posts measured, never 429 pages
SQLITE_TRIGGERS = ("post_search_insert", "post_search_delete", "post_search_update")


def set_index(on: bool) -> None:
    """Make the search index of posts, or drop it (what keeps it in step, on SQLite)."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            for name in SQLITE_TRIGGERS:
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            for statement in SQLITE_INDEX[1:] if on else []:
                connection.exec_driver_sql(statement)
        else:
            connection.exec_driver_sql("ALTER TABLE post DROP COLUMN IF EXISTS search_vector")
            for statement in POSTGRESQL_INDEX if on else []:
                connection.exec_driver_sql(statement)


def measure_in_process(rounds: int, per_round: int) -> None:
    """The posts, with and without the index, in this process (the servers' settings)."""
    app = create_app()
    client = app.test_client()
    if Auth(client).login(READERS[0], PASSWORD).status_code != 302:
        raise SystemExit(f"logging {READERS[0]} in failed")
    token = csrf_token(client, "/index")
    taken: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    sent = 0
    with app.app_context():
        for round_index in range(rounds):
            for on in (True, False) if round_index % 2 == 0 else (False, True):
                set_index(on)
                wall = cpu = 0.0
                for _ in range(per_round):
                    sent += 1
                    body = f"Benchmark post {sent}"
                    form = {"csrf_token": token, "body": body, "submit": "Post"}
                    wall_before, cpu_before = time.perf_counter(), time.process_time()
                    reply = client.post("/index", data=form)
                    wall += time.perf_counter() - wall_before
                    cpu += time.process_time() - cpu_before
                    if reply.status_code != 302:
                        raise SystemExit(f"POST /index answered {reply.status_code}")
                    # Read as the home page it leads to would: else the session cookie
                    # grows by a flashed message a post, and each POST costs more.
                    with client.session_transaction() as session:
                        session.pop("_flashes", None)
                taken[on].append((wall * 1e6 / per_round, cpu * 1e6 / per_round))
        set_index(True)
        dialect = db.engine.dialect.name
    medians = {
        on: [statistics.median(figures[i] for figures in taken[on]) for i in (0, 1)]
        for on in taken
    }
    print(f"{dialect}: {rounds} rounds of {per_round} posts each way, medians per POST /index")
    for i, figure in enumerate(("wall time", "CPU of the app's process")):
        with_index, without = medians[True][i], medians[False][i]
        print(
            f"  {figure}: with the index {with_index:,.0f} us, without {without:,.0f} us: "
            f"{with_index / without - 1:+.1%}"
        )
    for on in (True, False):
        told = ", ".join(f"{wall:,.0f}" for wall, _ in taken[on])
        print(f"  rounds' wall time {'with' if on else 'without'} the index (us): {told}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--posts", type=int, default=100_000, help="seeded posts")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=200, help="posts per round and kind")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        measure_in_process(args.rounds, args.per_round)
        return
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="microblog-posting-")))
        environment = production_environment(tmp, RATELIMIT_WRITING=UNSPENT_WRITING_LIMIT)
        if args.postgres:
            environment["DATABASE_URL"] = stack.enter_context(private_postgres())
        upgrade_database(environment)
        started = time.monotonic()
        counts = seed(environment["DATABASE_URL"], posts=args.posts)
        print(f"seeded {counts.posts:,} posts in {time.monotonic() - started:.1f} s", flush=True)
        arguments = ["--rounds", str(args.rounds), "--per-round", str(args.per_round)]
        done = run_python(
            environment, "-m", "bench.posting_cost", "--in-process", *arguments, timeout=1800
        )
        print(done.stdout, end="")
        if done.returncode != 0:
            sys.exit(f"posting failed:\n{done.stderr[-3000:]}")


if __name__ == "__main__":
    main()
