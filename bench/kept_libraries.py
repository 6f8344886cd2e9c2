"""What the kept libraries cost the home page: the floor under Microblog's /index.

    venv/bin/python -m bench.kept_libraries [--postgres] [--rounds 7] [--duration 5]

Issue 16 keeps Flask-SQLAlchemy, Flask-Login and Flask-WTF and asks a logged-in
page for 0.30 of bare Flask. This measures how close the lean page comes to that
once it uses those libraries the way Microblog does (bench/lean_kept_app.py):
four gunicorn servers with the production settings side by side, bare Flask,
the lean page, the lean page with the kept libraries and Microblog, on one
seeded database (SQLite, or with --postgres a private PostgreSQL server). Each
round drives bare Flask, then each home page, then bare Flask again with wrk
(bench/load.lua), so that a round's ratios compare figures taken under the same
load of a shared machine. Prints each round's ratios to bare Flask, then their
medians and the workers' CPU time per request. Needs wrk
(testkit/install-system-packages.sh installs it).
"""

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path

from bench.run import Scenario, find_wrk, log_in, measure, prepare_database, serving
from bench.seed import READERS
from testkit.services.postgres import private_postgres
from testkit.services.production import production_environment

HOME_PAGES = {
    "lean page": "bench.lean_app:create_app()",
    "lean page, kept libraries": "bench.lean_kept_app:create_app()",
    "Microblog": "microblog:app",
}
BARE = Scenario("bare Flask", [("GET", "/", 200)])
HOME = Scenario("GET /index (logged in, follows 50)", [("GET", "/index", 200)], logged_in=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per run (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a private PostgreSQL server (testkit.services.postgres) and use it",
    )
    args = parser.parse_args()
    wrk = find_wrk()
    ratios: dict[str, list[float]] = {name: [] for name in HOME_PAGES}
    cpu_ms: dict[str, list[float]] = {name: [] for name in ["bare Flask", *HOME_PAGES]}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="microblog-kept-")))
        environment = production_environment(tmp)
        if args.postgres:
            environment["DATABASE_URL"] = stack.enter_context(private_postgres())
        prepare_database(environment)
        bare = stack.enter_context(
            serving("bench.bare_app:app", "bare", environment, args.workers, tmp)
        )
        servers = {
            name: stack.enter_context(
                serving(app, f"home{number}", environment, args.workers, tmp)
            )
            for number, (name, app) in enumerate(HOME_PAGES.items())
        }
        # Every home page reads the session cookie Microblog sets at login.
        sessions = {name: log_in(servers["Microblog"].url, name) for name in READERS}
        for number in range(1, args.rounds + 1):
            print(f"round {number}")
            before = measure(wrk, bare, BARE, args, sessions)
            homes = {
                name: measure(wrk, server, HOME, args, sessions)
                for name, server in servers.items()
            }
            after = measure(wrk, bare, BARE, args, sessions)
            for name, result in homes.items():
                if result.unexpected or result.socket_errors:
                    raise SystemExit(
                        f"{name}: {result.unexpected} unexpected statuses, "
                        f"{result.socket_errors} socket errors"
                    )
                ratios[name].append(result.rps / ((before.rps + after.rps) / 2))
                cpu_ms[name].append(result.cpu_ms)
            cpu_ms["bare Flask"].append((before.cpu_ms + after.cpu_ms) / 2)
            print(
                "  ratios to bare Flask: "
                + ", ".join(f"{name} {values[-1]:.3f}" for name, values in ratios.items())
            )
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"\nGET /index on {database}, {args.rounds} rounds of {args.duration} s, "
        f"{args.workers} workers, {args.connections} connections:"
    )
    print(f"{'page':28} {'ratio to bare (median, range)':>32} {'worker CPU ms/req':>18}")
    for name, values in ratios.items():
        spread = f"{statistics.median(values):.3f} ({min(values):.3f} to {max(values):.3f})"
        print(f"{name:28} {spread:>32} {statistics.median(cpu_ms[name]):18.2f}")
    print(f"{'bare Flask':28} {'':>32} {statistics.median(cpu_ms['bare Flask']):18.2f}")


if __name__ == "__main__":
    main()
