"""Where the logged-in home page's time goes, part by part, beside the lean page's.

    venv/bin/python -m bench.page_parts [--requests 2000] [--rounds 5]

Seeds a fresh SQLite database as bench.run does, signs ``reader0`` in, then serves
GET /index in this process through the Flask test client, from Microblog (its
production settings, rate limits on) and from the lean page (bench/lean_app.py),
round after round in turn, so that both see the same load of a shared machine.
Each part is timed by a wrapper around the function that does it: the request as
a whole, the user load, the page's query and the reading of its rows, each post's
values, the template, the CSRF token, the session cookie, every request hook. A
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

PAGE = "/index"


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
    names[id(queries.FOLLOWING_COUNT)] = "the following count (Microblog's feed plan)"
    for feed in feeds:
        names |= {id(feed.by_number): "the page's query", id(feed.from_after): "the page's query"}
    time_statements(timers, names)


def time_microblog(timers: Timers) -> Any:
    """Microblog with a timer around each part; returns the test client of reader0."""
    import app.main.routes as routes
    from app import create_app
    from config import Config

    routes.shown_posts = timers.wrap("each post's values", routes.shown_posts)
    app = create_app(Config)
    app.wsgi_app = timers.wrap("whole request", app.wsgi_app)
    login = app.login_manager
    login._user_callback = timers.wrap("loading the user", login._user_callback)
    for hooks, kind in [
        (app.before_request_funcs, "before"),
        (app.after_request_funcs, "after"),
    ]:
        for blueprint, functions in hooks.items():
            hooks[blueprint] = [timers.wrap(f"hook: {kind} {hook_name(f)}", f) for f in functions]
    app.teardown_appcontext_funcs[:] = [
        timers.wrap(f"hook: teardown {hook_name(f)}", f) for f in app.teardown_appcontext_funcs
    ]
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


def measure(requests: int, rounds: int) -> None:
    # One set of timers: the apps take turns, and each turn starts from zero.
    timers = Timers()
    time_shared_parts(timers)
    microblog_client = time_microblog(timers)
    lean_client = time_lean(timers, microblog_client.get_cookie("session").value)
    best: dict[str, dict[str, float]] = {"microblog": {}, "lean": {}}
    for _ in range(rounds):
        for label, client in [("microblog", microblog_client), ("lean", lean_client)]:
            for _ in range(requests // 10):  # warm up after the other app's turn
                client.get(PAGE)
            timers.spent.clear()
            for _ in range(requests):
                if client.get(PAGE).status_code != 200:
                    raise SystemExit(f"{label} {PAGE} did not answer 200")
            for name, seconds in timers.spent.items():
                mean = seconds / requests * 1000
                best[label][name] = min(best[label].get(name, mean), mean)
    names = sorted(
        set(best["microblog"]) | set(best["lean"]),
        key=lambda name: (name != "whole request", -best["microblog"].get(name, 0)),
    )
    print(f"GET {PAGE} of {READERS[0]}, ms per request (lowest of {rounds} rounds of {requests}):")
    print(f"{'part':48} {'Microblog':>10} {'lean':>8}")
    for name in names:
        shown = name
        cells = [f"{best[label][name]:.3f}" if name in best[label] else "-" for label in best]
        print(f"{shown:48} {cells[0]:>10} {cells[1]:>8}")
    print("The template includes the CSRF token for Microblog (its forms ask for it);")
    print("the lean page asks for it before rendering.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per round and app")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child: the environment is set, the database seeded
        measure(args.requests, args.rounds)
        return
    with tempfile.TemporaryDirectory(prefix="microblog-parts-") as workdir:
        environment = production_environment(Path(workdir))
        upgrade_database(environment)
        seed(environment["DATABASE_URL"])
        # A process of its own: the app's settings are read from the environment
        # at import, and this one has imported the app already (for seeding).
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "bench.page_parts", "--measure"]
            + ["--requests", str(args.requests), "--rounds", str(args.rounds)],
            cwd=ROOT,
            env=environment | {"PYTHONPATH": str(ROOT)},
            check=False,
        )
        sys.exit(done.returncode)


if __name__ == "__main__":
    main()
