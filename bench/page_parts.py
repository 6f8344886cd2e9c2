"""Where a page's time goes, part by part, beside the time of a page that does less.

    venv/bin/python -m bench.page_parts [--page index|login|404|failing]
                                        [--requests 2000] [--rounds 5]

``index`` (the default) seeds a fresh SQLite database as bench.run does, signs
``reader0`` in, and serves GET /index from Microblog (its production settings,
rate limits on) and from the lean page (bench/lean_app.py). ``login``, ``404`` and
``failing`` serve an anonymous first visit (no cookie) of /login, of a missing
page and of the failing page (testkit.crashing, email reports on, to a local
SMTP server) beside bench/bare_app.py, the ceiling of bench.run. The two apps
take turns, round after round, in this process through the Flask test client,
so that both see the same load of a shared machine.
Each part is timed by a wrapper around the function that does it: the request as
a whole, the user load, the page's query and the reading of its rows, each post's
values, the template, the CSRF token, the session cookie, every request hook, and
for the failing page the log handlers, the traceback's text and the error page. A
part may hold another (Microblog's template asks for the CSRF token; its
last-seen hook is where the user is loaded). A part's figure is its lowest mean
over the rounds, in milliseconds of wall time per request: SQLite runs in this
process, so nearly all of it is CPU. Unlike cProfile's shares, these are not
skewed by the profiler's own cost per call. The server's own cost per request
(bench.run's bare ceiling) comes on top of both pages.
"""

import argparse
import functools
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.seed import PASSWORD, READERS, seed
from testkit.clients import Auth
from testkit.services.production import ROOT, production_environment, upgrade_database
from testkit.services.smtp import smtp_sink

# The page, its expected status, and the app it is measured beside.
PAGES = {
    "index": ("/index", 200, "lean"),
    "login": ("/login", 200, "bare Flask"),
    "404": ("/no-such-page", 404, "bare Flask"),
    "failing": ("/crash/", 500, "bare Flask"),
}


class Timers:
    """Wall time spent in each wrapped function, per name."""

    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - started

        return timed


def hook_name(function: Callable[..., Any]) -> str:
    return getattr(function, "__name__", type(function).__name__)


def time_statements(timers: Timers, names: dict[int, str]) -> None:
    """Time the statements named in ``names`` (by identity) wherever they run."""
    import sqlalchemy.engine.base

    connection_class = sqlalchemy.engine.base.Connection
    # Session.scalar runs a statement through Connection.scalar, not execute.
    for method in ("execute", "scalar"):
        run = getattr(connection_class, method)

        def timed(
            connection: Any, statement: Any, *args: Any, run: Any = run, **kwargs: Any
        ) -> Any:
            name = names.get(id(statement))
            if name is None:
                return run(connection, statement, *args, **kwargs)
            return timers.wrap(name, run)(connection, statement, *args, **kwargs)

        setattr(connection_class, method, timed)


def time_shared_parts(timers: Timers) -> None:
    """The parts both apps do the same way: the session cookie, the template, the CSRF
    token, the queries."""
    import flask
    import flask_wtf.csrf
    import jinja2
    import sqlalchemy.engine

    from app.application import Microblog
    from app.main import queries
    from bench import lean_app

    # Flask's session interface is one object shared by every Flask app (the lean
    # page's); Microblog's is its own (app/application.py).
    for sessions in (flask.Flask.session_interface, Microblog.session_interface):
        sessions.open_session = timers.wrap("session cookie: open", sessions.open_session)
        sessions.save_session = timers.wrap("session cookie: save", sessions.save_session)
    # A statement's rows are read after it runs: SQLite steps through them then.
    result = sqlalchemy.engine.Result
    result.all = timers.wrap("the page's query: reading its rows", result.all)
    jinja2.Template.render = timers.wrap("the template", jinja2.Template.render)
    # Before either app takes it: Microblog's templates call it as csrf_token().
    flask_wtf.csrf.generate_csrf = timers.wrap("CSRF token", flask_wtf.csrf.generate_csrf)
    lean_app.generate_csrf = flask_wtf.csrf.generate_csrf
    feeds = [queries.FEED_OF_NOBODY_FOLLOWED, queries.FEED_SEEKING_AUTHORS]
    feeds.append(queries.FEED_WALKING_POSTS)
    names = {id(lean_app.USER): "loading the user", id(lean_app.FEED): "the page's query"}
    for feed in feeds:
        names |= {id(feed.by_number): "the page's query", id(feed.from_after): "the page's query"}
    time_statements(timers, names)


def time_microblog(timers: Timers, page: str) -> Any:
    """Microblog with a timer around each part; returns a client for ``page``.

    The client of the home page is reader0's; any other page's has no cookie.
    """
    import app.main.routes as routes
    from app import create_app, error_pages
    from app.reporting import escaping
    from config import Config
    from testkit import crashing

    routes.shown_posts = timers.wrap("each post's values", routes.shown_posts)
    error_pages.error_response = timers.wrap("the error page", error_pages.error_response)
    memo = escaping.FORMATTED
    memo.text = timers.wrap("the traceback's text (memo)", memo.text)
    app = create_app(Config)
    app.register_blueprint(crashing.bp)
    app.wsgi_app = timers.wrap("whole request", app.wsgi_app)
    login = app.login_manager
    login._user_callback = timers.wrap("loading the user", login._user_callback)
    login._load_user = timers.wrap("Flask-Login: the current user", login._load_user)
    for handler in app.logger.handlers:
        handler.handle = timers.wrap(f"log handler: {type(handler).__name__}", handler.handle)
    for hooks, kind in [
        (app.before_request_funcs, "before"),
        (app.after_request_funcs, "after"),
    ]:
        for blueprint, functions in hooks.items():
            hooks[blueprint] = [timers.wrap(f"hook: {kind} {hook_name(f)}", f) for f in functions]
    app.teardown_appcontext_funcs[:] = [
        timers.wrap(f"hook: teardown {hook_name(f)}", f) for f in app.teardown_appcontext_funcs
    ]
    if page != "index":
        return app.test_client(use_cookies=False)  # a first visit, as in bench.run
    client = app.test_client()
    reply = Auth(client).login(READERS[0], PASSWORD)
    if reply.status_code != 302:
        raise SystemExit(f"logging in {READERS[0]} failed: {reply.status_code}")
    return client


def time_lean(timers: Timers, session_cookie: str) -> Any:
    """The lean page with timers around its parts; returns a client with reader0's cookie."""
    from bench import lean_app

    app = lean_app.create_app()
    app.wsgi_app = timers.wrap("whole request", app.wsgi_app)
    client = app.test_client()
    client.set_cookie("session", session_cookie)
    return client


def time_bare(timers: Timers) -> Any:
    """bench.run's ceiling, timed as a whole; returns its client (no cookies)."""
    from bench.bare_app import app

    app.wsgi_app = timers.wrap("whole request", app.wsgi_app)
    return app.test_client(use_cookies=False)


def measure(page: str, requests: int, rounds: int) -> None:
    path, status, other = PAGES[page]
    # One set of timers: the apps take turns, and each turn starts from zero.
    timers = Timers()
    time_shared_parts(timers)
    microblog_client = time_microblog(timers, page)
    if page == "index":
        other_client = time_lean(timers, microblog_client.get_cookie("session").value)
        turns = [("Microblog", microblog_client, path, status), (other, other_client, path, 200)]
    else:
        turns = [
            ("Microblog", microblog_client, path, status),
            (other, time_bare(timers), "/", 200),
        ]
    best: dict[str, dict[str, float]] = {label: {} for label, *_ in turns}
    for _ in range(rounds):
        for label, client, url, expected in turns:
            for _ in range(requests // 10):  # warm up after the other app's turn
                client.get(url)
            timers.spent.clear()
            for _ in range(requests):
                if client.get(url).status_code != expected:
                    raise SystemExit(f"{label} {url} did not answer {expected}")
            for name, seconds in timers.spent.items():
                mean = seconds / requests * 1000
                best[label][name] = min(best[label].get(name, mean), mean)
    ours, theirs = best.values()
    names = sorted(
        set(ours) | set(theirs),
        key=lambda name: (name != "whole request", -ours.get(name, 0)),
    )
    who = f" of {READERS[0]}" if page == "index" else " (anonymous, no cookie)"
    print(f"GET {path}{who}, ms per request (lowest of {rounds} rounds of {requests}):")
    print(f"{'part':48} {'Microblog':>10} {other:>10}")
    for name in names:
        cells = [f"{parts[name]:.3f}" if name in parts else "-" for parts in (ours, theirs)]
        print(f"{name:48} {cells[0]:>10} {cells[1]:>10}")
    if page == "index":
        print("The template includes the CSRF token for Microblog (its forms ask for it);")
        print("the lean page asks for it before rendering.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", choices=PAGES, default="index")
    parser.add_argument("--requests", type=int, default=2000, help="per round and app")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child: the environment is set, the database seeded
        measure(args.page, args.requests, args.rounds)
        return
    with (
        tempfile.TemporaryDirectory(prefix="microblog-parts-") as workdir,
        smtp_sink() as sink,
    ):
        environment = production_environment(Path(workdir))
        if args.page == "failing":  # as bench.run measures it: email reports on
            environment |= {
                "MAIL_SERVER": sink.host,
                "MAIL_PORT": str(sink.port),
                "ADMINS": "bench@example.com",
            }
        upgrade_database(environment)
        if args.page == "index":
            seed(environment["DATABASE_URL"])
        # A process of its own: the app's settings are read from the environment
        # at import, and this one has imported the app already (for seeding).
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "bench.page_parts", "--measure", "--page", args.page]
            + ["--requests", str(args.requests), "--rounds", str(args.rounds)],
            cwd=ROOT,
            env=environment | {"PYTHONPATH": str(ROOT)},
            check=False,
        )
        sys.exit(done.returncode)


if __name__ == "__main__":
    main()
