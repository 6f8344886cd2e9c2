"""The poll of the unread counts, answered before Flask in the case it almost always is.

Every open page asks for its navigation bar's counts every UNREAD_POLL_SECONDS
(static/unread-counts.js), so this one request is most of what idle tabs send.
Through Flask a signed-in request costs its session, Flask-Login's user (an ORM
object loaded with its login) and a dozen hooks: through the view alone a poll
cost about four times bare Flask's worker CPU, against at most 1.7 times asked
for (0.6 of its throughput; docs/performance.md).

``UnreadCountsPoll`` (WSGI, around the app) answers the common case itself: a GET
of POLL_PATH whose query is nothing or ``since=<state>``, from a browser whose
session cookie names a login that still lasts. It checks the cookie as Flask does
(the app's own signing serializer), reads the login and the counts with one
statement (``COUNTS_OF_LOGIN``: through the app's engine on SQLite, on a connection
each thread holds on PostgreSQL, ``HeldConnections``), and answers what the view
answers: both build the answer with ``poll_answer``. Anything else goes to Flask
and the view, with the app's full handling: no session cookie (a remember cookie
only, or none), a query of any other shape, a login that ended, a database error
(which Flask's view then meets too, and reports). The fast path never answers what it is not
sure of.

What a fast answer skips, knowingly: the request hooks that have nothing to do
here (input checks: the query is checked to be one of its two shapes; CSRF;
rate limits; last seen, which a poll is not, whichever way it is answered), and
what counts requests for /metrics and Sentry: polls do not show there.
"""

import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
from flask import Flask
from itsdangerous import BadData
from sqlalchemy import Engine, Row, event
from sqlalchemy.exc import DBAPIError
from werkzeug.http import parse_etags, quote_etag
from werkzeug.sansio.http import parse_cookie
from werkzeug.wrappers import Response

from app.auth.sessions import COUNTS_OF_LOGIN, key_hash, login_lasts
from app.extensions import db
from app.models import UnreadCounts
from app.reporting.request_ids import HEADER as REQUEST_ID_HEADER
from app.reporting.request_ids import request_id_for
from app.security.headers import REFERRER_POLICY, fixed_headers_of

POLL_PATH = "/notifications/unread"
# What UnreadCounts.state writes: each count is at most UNREAD_COUNTED (three digits).
SINCE_QUERY = re.compile(r"since=([0-9]{1,3}\.[0-9]{1,3})")
CACHE_CONTROL = "private, no-cache"  # each browser's own answer, always asked again
# Session cookies remembered as verified: the last so many browsers' (a few hundred
# bytes each, so a few hundred kilobytes at most).
VERIFIED_COOKIES = 1024
# Flask-Login keeps the signed-in login's key (app.auth.sessions) here in the session.
LOGIN_KEY = "_user_id"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def poll_answer(
    counts: UnreadCounts, since: str | None, if_none_match: str | None
) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body answering a poll from a signed-in browser.

    304, empty, when the caller has these counts already: it named their state as
    ``since``, or as the ETag in If-None-Match. Otherwise the counts as JSON.
    """
    state = counts.state
    headers = {"ETag": quote_etag(state), "Cache-Control": CACHE_CONTROL, "Vary": "Cookie"}
    if since == state or parse_etags(if_none_match).contains(state):
        return 304, headers, b""
    body = {"messages": counts.messages, "notifications": counts.notifications, "state": state}
    headers["Content-Type"] = "application/json"
    return 200, headers, json.dumps(body).encode()


def poll_response(counts: UnreadCounts, since: str | None, if_none_match: str | None) -> Response:
    """``poll_answer`` as the view's response (app.notifications.routes)."""
    status, headers, body = poll_answer(counts, since, if_none_match)
    return Response(body, status, headers)


class UnreadCountsPoll:
    """WSGI middleware: the poll's common case answered without Flask (see the module)."""

    def __init__(self, app: Flask, wrapped: WsgiApp) -> None:
        self.app = app
        self.wrapped = wrapped
        with app.app_context():
            self.engine = db.engine
        # On PostgreSQL the statement goes on a connection each thread holds (see the
        # class); SQLite keeps the app's engine and pool, whose checkout is in-process.
        self.held = (
            HeldConnections(self.engine) if self.engine.dialect.name == "postgresql" else None
        )
        self.cookie_name = app.session_interface.get_cookie_name(app)
        self.max_age = int(app.permanent_session_lifetime.total_seconds())
        self.fixed_headers = {**fixed_headers_of(app), "Referrer-Policy": REFERRER_POLICY}
        self.proxies_trusted = app.config["TRUSTED_PROXIES"] > 0
        # A tab sends the same cookie at every poll: its signature (an HMAC, base64 and
        # a JSON payload, a third of a fast answer) is checked at the first, then
        # remembered with what it said; only its age is checked again. The keys that
        # sign it are the app's, fixed for its life.
        self.verified = functools.lru_cache(maxsize=VERIFIED_COOKIES)(self.verify)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        answer = None
        if environ.get("PATH_INFO") == POLL_PATH and environ.get("REQUEST_METHOD") == "GET":
            answer = self.answer(environ)
        if answer is None:
            return self.wrapped(environ, start_response)
        status, headers, body = answer
        headers = {**headers, **self.fixed_headers}
        headers[REQUEST_ID_HEADER] = request_id_for(
            environ.get("HTTP_X_REQUEST_ID", ""), self.proxies_trusted
        )
        if body:
            headers["Content-Length"] = str(len(body))
        start_response(f"{status} {'OK' if status == 200 else 'NOT MODIFIED'}", [*headers.items()])
        return [body]

    def answer(self, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        """The answer to a poll this path is sure of; None for Flask to answer."""
        query = environ.get("QUERY_STRING", "")
        since = SINCE_QUERY.fullmatch(query)
        if query and since is None:
            return None
        login_key = self.login_key(environ)
        if login_key is None:
            return None
        try:
            login = self.counts_of_login(key_hash(login_key))
        except (DBAPIError, psycopg.Error):
            return None
        if login is None:
            return None
        expires_at, login_token, user_token, messages, notifications = login
        if not login_lasts(expires_at, login_token, user_token):
            return None
        counts = UnreadCounts(messages, notifications)
        return poll_answer(counts, since and since[1], environ.get("HTTP_IF_NONE_MATCH"))

    def counts_of_login(self, hashed_key: str) -> Row[Any] | tuple[Any, ...] | None:
        """``COUNTS_OF_LOGIN``'s row for the login whose key hashes to ``hashed_key``."""
        if self.held is not None:
            return self.held.counts_of_login(hashed_key)
        with self.engine.connect() as connection:
            return connection.execute(COUNTS_OF_LOGIN, {"key_hash": hashed_key}).first()

    def login_key(self, environ: dict[str, Any]) -> str | None:
        """The key of the login the session cookie names, if the cookie is valid."""
        # The parser of Flask's own request.cookies, which reads the header as WSGI gives
        # it (werkzeug.http's decodes it first, and fails on what some clients send).
        cookie = parse_cookie(environ.get("HTTP_COOKIE")).get(self.cookie_name)
        verified = self.verified(cookie) if cookie else None
        if verified is None:
            return None
        login_key, signed_at = verified
        # The age limit Flask gives the cookie (its signer's max_age), checked here,
        # where the cookie's signature was verified once.
        return login_key if 0 <= time.time() - signed_at <= self.max_age else None

    def verify(self, cookie: str) -> tuple[str, float] | None:
        """The login key a session cookie holds and when it was signed, read as Flask reads
        the cookie (the app's own signing serializer); None if it holds no login or
        does not verify."""
        # Never None: the app always has a secret key (app.security.secret_key).
        serializer = self.app.session_interface.get_signing_serializer(self.app)
        try:
            session, signed_at = serializer.loads(cookie, return_timestamp=True)
        except BadData:
            return None
        login_key = session.get(LOGIN_KEY) if isinstance(session, dict) else None
        return (login_key, signed_at.timestamp()) if isinstance(login_key, str) else None


class HeldConnections:
    """``COUNTS_OF_LOGIN`` on PostgreSQL, sent by psycopg itself on a connection that
    each thread of the server holds for its polls, in autocommit, prepared.

    Instead of SQLAlchemy's Core execution on a pooled connection: a poll cost 250 us
    of the worker's CPU that way, 100 us this way (docs/performance.md), and the
    check-out, the pool's ping (``pool_pre_ping``), the statement's compilation
    cache, its parameters' and its result's processing are all the same every time.
    Each connection is taken once from the app's engine (its URL and connect
    arguments), then detached from its pool: the poll's own, in autocommit (one
    SELECT, no transaction around it), the statement prepared once per connection.
    A statement that fails (the server dropped the connection, or restarted) drops
    its connection, and that poll goes to the view; the next poll opens a new
    connection. Disposing of the engine (tests, a fork) closes every thread's.

    Its statements go past SQLAlchemy's events: statement counters that listen on the
    engine do not see them (the tests count them with psycopg's own cursor).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        compiled = COUNTS_OF_LOGIN.compile(engine)
        self.sql = compiled.string
        # The counts' LIMITs, fixed in the statement; the key is each poll's.
        self.parameters = compiled.params
        self.of_thread = threading.local()
        self.every_thread: set[psycopg.Connection[Any]] = set()
        event.listen(engine, "engine_disposed", self.close_all)

    def counts_of_login(self, hashed_key: str) -> tuple[Any, ...] | None:
        connection = getattr(self.of_thread, "connection", None)
        if connection is None or connection.closed:
            connection = self.of_thread.connection = self.connect()
        try:
            found = connection.execute(
                self.sql, {**self.parameters, "key_hash": hashed_key}, prepare=True
            )
            return found.fetchone()
        except psycopg.Error:
            self.close(connection)
            raise

    def connect(self) -> psycopg.Connection[Any]:
        pooled = self.engine.raw_connection()
        connection = pooled.driver_connection
        pooled.detach()  # the pool forgets it: it is this thread's from now on
        connection.autocommit = True
        self.every_thread.add(connection)
        return connection

    def close(self, connection: psycopg.Connection[Any]) -> None:
        self.every_thread.discard(connection)
        connection.close()

    def close_all(self, engine: Engine) -> None:
        for connection in list(self.every_thread):
            self.close(connection)


def init_app(app: Flask) -> None:
    poll = UnreadCountsPoll(app, app.wsgi_app)
    # Where the tests and the benchmark find its engine (to count its statements, to
    # close its connections: on PostgreSQL its held connections close with the engine).
    app.extensions["unread_counts_poll"] = poll
    app.wsgi_app = poll  # type: ignore[method-assign]
