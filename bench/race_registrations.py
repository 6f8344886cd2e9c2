"""Race N same-name registrations against a real gunicorn server; print what happened.

    venv/bin/python -m bench.race_registrations [--clients 16] [--workers 2]

Starts gunicorn on a free loopback port with a fresh SQLite database, gives every
client its own session and CSRF token, releases all registrations at once, and
prints the status codes and the number of accounts that exist afterwards.
"""

import argparse
import contextlib
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

from testkit.clients import register_all_at_once
from testkit.services.gunicorn import gunicorn_server
from testkit.services.production import production_environment, upgrade_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="microblog-race-") as folder:
        workdir = Path(folder)
        environment = production_environment(workdir, RATELIMIT_ENABLED="0")
        upgrade_database(environment)
        with gunicorn_server(
            environment=environment, output=workdir / "gunicorn.log", workers=args.workers
        ) as server:
            replies = register_all_at_once(server.url, ["racer"] * args.clients)
        database = environment["DATABASE_URL"].removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(database)) as connection:
            [count] = connection.execute('SELECT count(*) FROM "user"').fetchone()
    print(f"{args.clients} concurrent registrations of one name, gunicorn -w {args.workers}")
    print("statuses:", dict(sorted(Counter(reply.status for reply in replies).items())))
    print("accounts created:", count)


if __name__ == "__main__":
    main()
