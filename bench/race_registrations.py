"""Race N same-name registrations against a real gunicorn server; print what happened.

    venv/bin/python bench/race_registrations.py [--clients 16] [--workers 2]

Starts gunicorn on a free loopback port with a fresh SQLite database, gives every
client its own session and CSRF token, releases all registrations at once, and
prints the status codes and the number of accounts that exist afterwards.
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar

from serving import ROOT, Gunicorn

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/race.db"
        environment = {
            **os.environ,
            "DATABASE_URL": database,
            "SECRET_KEY": secrets.token_hex(),
            "LOG_DIR": tmp,
            "RATELIMIT_ENABLED": "0",
        }
        python = sys.executable
        subprocess.run(  # noqa: S603 - fixed command
            [python, "-m", "flask", "db", "upgrade"],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
        )
        with Gunicorn(env=environment, workers=args.workers, ready_path="/login") as server:
            statuses = race(server.url, args.clients)
        count = subprocess.run(  # noqa: S603 - fixed command
            [
                python,
                "-c",
                "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
                "'select count(*) from user').fetchone()[0])",
                f"{tmp}/race.db",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    print(f"{args.clients} concurrent registrations of one name, gunicorn -w {args.workers}")
    print("statuses:", dict(sorted(Counter(statuses).items())))
    print("accounts created:", count)


def race(base: str, clients: int) -> list[int]:
    openers, tokens = [], []
    for _ in range(clients):
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
        )
        page = opener.open(f"{base}/register").read().decode()
        openers.append(opener)
        tokens.append(CSRF.search(page).group(1))
    barrier = threading.Barrier(clients)
    statuses = [0] * clients

    def register(index: int) -> None:
        body = urllib.parse.urlencode(
            {
                "csrf_token": tokens[index],
                "username": "racer",
                "email": f"racer{index}@example.com",
                "password": "a long enough password",
                "password2": "a long enough password",
            }
        ).encode()
        barrier.wait()
        try:
            statuses[index] = openers[index].open(f"{base}/register", data=body).status
        except urllib.error.HTTPError as error:
            statuses[index] = error.code

    threads = [threading.Thread(target=register, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


if __name__ == "__main__":
    main()
