"""How many SQL statements pages cost on the benchmark's database: the app in-process.

    venv/bin/python -m bench.sql_counts '[["label", "reader0", "/index", 200], ...]'

bench/run.py runs this in the servers' environment (a fresh process: the app reads
its settings there, and nothing is set in the benchmark's own). Each page is asked
for twice by the Flask test client, as its user (logged in through the form) or
anonymously (no user), and the statements of the second request are recorded by a
``before_cursor_execute`` listener on the app's engine: the first settles the
one-off work, such as the throttled last-seen write. Prints one JSON object: each
label with the recorded statements, each as its verb and first table. Each page must
answer the status given with it (the poll's 304) both times.
"""

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from flask.testing import FlaskClient
from sqlalchemy import Engine

from app import create_app
from app.extensions import db
from bench.seed import PASSWORD
from testkit.clients import Auth, submit
from testkit.statements import recording

# A user named so calls the API with a token of the user before it (bench/run.py's api_user).
API_USER_SUFFIX = " (API)"
NEW_TOKEN = re.compile(r'<code id="new-token"[^>]*>(mbt_[^<]+)</code>')
# "SELECT ... FROM post JOIN ...", "UPDATE user SET ...", "INSERT INTO post_tag ...".
TABLE = re.compile(r"\b(?:FROM|UPDATE|INTO)\s+\"?(\w+)", re.IGNORECASE)
PARENTHESES = re.compile(r"\([^()]*\)")
# What follows FROM once a subquery's parentheses are gone: then its own first table.
AFTER_SUBQUERY = {"AS", "WHERE", "ORDER", "LIMIT", "JOIN", "GROUP"}


@contextmanager
def recorded(engines: set[Engine]) -> Iterator[list[str]]:
    """Every statement ``engines`` send to the database meanwhile (the poll's too, which
    psycopg sends past them on PostgreSQL: testkit.statements)."""
    statements: list[str] = []
    with recording(lambda statement, parameters: statements.append(statement), engines):
        yield statements


def kind_of(statement: str) -> str:
    """``SELECT post``: a statement's verb and its own first table (not a subquery's)."""
    outer = statement
    while PARENTHESES.search(outer):
        outer = PARENTHESES.sub("", outer)
    verb = outer.split(None, 1)[0].upper()
    table = TABLE.search(outer)
    if table and table.group(1).upper() in AFTER_SUBQUERY:  # FROM (SELECT ... FROM post_search)
        table = TABLE.search(statement)
    return f"{verb} {table.group(1)}" if table else verb


def statements_of(pages: list[tuple[str, str, str, int]]) -> dict[str, list[str]]:
    """Each (label, username or "", path, status): the statements of its second request."""
    app = create_app()
    with app.app_context():
        # The app's and the unread counts poll's (on PostgreSQL one of its own).
        engines = {db.engine, app.extensions["unread_counts_poll"].engine}
    clients: dict[str, FlaskClient] = {}
    headers: dict[str, dict[str, str]] = {}
    found = {}
    for label, username, path, status in pages:
        client = clients.get(username)
        if client is None:
            client = clients[username] = app.test_client()
            login_name = username.removesuffix(API_USER_SUFFIX)
            if username and Auth(client).login(login_name, PASSWORD).status_code != 302:
                raise SystemExit(f"logging {username} in failed")
            headers[username] = {}
            if username.endswith(API_USER_SUFFIX):
                made = submit(client, "/account/tokens", {"name": "bench", "expires_in_days": 1})
                token = NEW_TOKEN.search(made.get_data(as_text=True)).group(1)
                # A new client: the API reads no cookie, and the count is the API's alone.
                client = clients[username] = app.test_client()
                headers[username] = {"Authorization": f"Bearer {token}"}
        first = client.get(path, headers=headers[username])
        with recorded(engines) as statements:
            second = client.get(path, headers=headers[username])
        if (first.status_code, second.status_code) != (status, status):
            raise SystemExit(f"{path} answered {first.status_code}, {second.status_code}")
        found[label] = [kind_of(statement) for statement in statements]
    return found


def main() -> None:
    pages = [tuple(page) for page in json.loads(sys.argv[1])]
    print(json.dumps(statements_of(pages)))


if __name__ == "__main__":
    main()
