"""Hostile requests: every class of input a client can send, to every form and page.

Each test sends one class (several examples of it) to every POST route and every
page of a production-like app (log file, error emails to a local SMTP server),
anonymous and signed in, on SQLite (NUL characters, which PostgreSQL cannot
store, on PostgreSQL too), and checks what a hostile black-box test would: never
a 500, nothing stored when a request is refused, one log record and at most one
email per failure, no forged log line. The routes come
from the app's URL map and the field names from its pages, so forms added later
are covered as well. Run with ``-s`` to see how many requests each class sent.
"""

import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import Message, Notification, Post, User, blocks, followers
from testkit.apps import log_text
from testkit.clients import PASSWORD, Auth, csrf_token, make_user
from testkit.services.smtp import context_of

LOG_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \[", re.MULTILINE)
# Pages with a form whose field names the tests borrow; any other form posts to a
# route found in the URL map with these names.
FORM_PAGES = ["/login", "/register", "/index", "/edit_profile"]
MEMBER = "alice"


def database_state() -> list[tuple]:
    """What a refused request must leave as it was: accounts, posts, follows and blocks,
    messages and notifications."""
    users = db.session.execute(
        sa.select(User.id, User.username, User.email, User.password_hash, User.about_me).order_by(
            User.id
        )
    ).all()
    posts = db.session.execute(sa.select(Post.id, Post.body, Post.user_id).order_by(Post.id))
    others = [
        db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        for table in (followers, blocks, Message.__table__, Notification.__table__)
    ]
    return [tuple(row) for rows in [users, posts.all(), *others] for row in rows]


class Hostile:
    """A site under attack: sends requests, counts them per class, checks each answer."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.addresses = (f"198.51.{n // 250}.{n % 250 + 1}" for n in itertools.count())
        self.sent: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        with app.app_context():
            member = make_user(MEMBER)
            post = Post.publish("A post of the member's #own", member.id)
            db.session.commit()
            # The value of each URL part of a route: the member's name, post and tag.
            self.url_values = {
                "username": MEMBER,
                "post_id": post.id,
                "tag": "own",
                "token": "not-a-token",
                "token_id": 1,
                "job_id": 1,  # an export's download: nobody's here
            }
        self.anonymous = app.test_client()
        self.member = app.test_client()
        Auth(self.member).login(MEMBER)
        self.field_names = self._field_names()
        self.tokens = {
            self.anonymous: csrf_token(self.anonymous, "/login"),
            self.member: csrf_token(self.member, "/edit_profile"),
        }
        # The state after the last request checked to have changed nothing: the state
        # the next request starts from (nothing else writes accounts or posts).
        self.known_state: list[tuple] | None = None

    def database_state(self) -> list[tuple]:
        with self.app.app_context():
            return database_state()

    def _field_names(self) -> list[str]:
        names: set[str] = set()
        for client, path in itertools.product([self.anonymous, self.member], FORM_PAGES):
            page = client.get(path).get_data(as_text=True)
            names.update(re.findall(r'<(?:input|textarea)[^>]*\bname="([^"]+)"', page))
        return sorted(names - {"csrf_token", "password-csrf_token"})

    def clients(self) -> Iterator[tuple[str, FlaskClient]]:
        yield "anonymous", self.anonymous
        yield "member", self.member

    def post_routes(self) -> list[str]:
        """Every form's route that takes a POST, naming the member's name or post in its URL.

        The API's are not forms (typed JSON, a token, no CSRF token): its own hostile
        requests are test_api_hostile.py's, and Schemathesis's (test_api_fuzzing.py).
        """
        return sorted(
            rule.build({name: self.url_values[name] for name in rule.arguments})[1]
            for rule in self.app.url_map.iter_rules()
            if "POST" in rule.methods and not rule.rule.startswith("/api/")
        )

    def pages(self) -> list[str]:
        """Every page one can GET (the failing test routes and static files aside)."""
        return sorted(
            rule.build({name: self.url_values[name] for name in rule.arguments})[1]
            for rule in self.app.url_map.iter_rules()
            if "GET" in rule.methods
            and not rule.endpoint.endswith("static")
            and not rule.endpoint.startswith(("crashing.", "crashing_api.", "request_probe."))
        )

    def token(self, client: FlaskClient) -> str:
        """The CSRF token of the client's session: hostile bodies get past CSRF with it."""
        return self.tokens[client]

    def send(
        self,
        kind: str,
        client: FlaskClient,
        method: str,
        path: str,
        stores_nothing: bool = False,
        **kwargs,
    ) -> TestResponse:
        """One request from an address of its own (the rate limits count per address).

        Never a 500; the database is left as it was when the request is refused, or
        whatever the answer when ``stores_nothing``.
        """
        environ = {"REMOTE_ADDR": next(self.addresses), **kwargs.pop("environ_base", {})}
        before = self.known_state if self.known_state is not None else self.database_state()
        self.known_state = None
        response = client.open(path, method=method, environ_base=environ, **kwargs)
        self.sent[kind] += 1
        self.statuses[response.status_code] += 1
        assert response.status_code < 500, (kind, method, path, kwargs, response.status_code)
        if stores_nothing or response.status_code in (400, 413):
            after = self.database_state()
            assert after == before, (kind, path, kwargs)
            self.known_state = after
        return response

    def app_failure(self, kind: str, client: FlaskClient, path: str, **kwargs) -> TestResponse:
        """A request to one of testkit's failing routes: its 500 is expected, and counted."""
        self.known_state = None  # /crash/after-write writes before it fails
        response = client.get(path, **kwargs)
        self.sent[kind] += 1
        self.statuses[response.status_code] += 1
        return response

    def report(self, kind: str) -> None:
        print(
            f"\n{kind}: {self.sent[kind]} requests, statuses {dict(sorted(self.statuses.items()))}"
        )

    def error_records(self) -> list[str]:
        return [
            line for line in log_text(self.app).splitlines() if re.match(r"^\S+ \S+ ERROR ", line)
        ]


@pytest.fixture
def hostile(smtp, make_app, database) -> Hostile:
    # With SITE_URL, password reset by email is on: its pages and forms are attacked too.
    app = make_app(mail_port=smtp.port, database=database, SITE_URL="https://blog.example.com")
    return Hostile(app)


def assert_no_failure_was_logged(hostile: Hostile) -> None:
    assert hostile.error_records() == []
    assert "Logging error" not in log_text(hostile.app)


# --- Form values that are not text ------------------------------------------------------

NOT_TEXT_VALUES = [
    5,
    -1.5e308,
    True,
    False,
    None,
    ["a", "b"],
    [],
    {"nested": "object"},
    {"a": {"b": {"c": ["deep"]}}},
    "lone \ud800 surrogate",
    "\udfff",
]
NOT_AN_OBJECT = ["[1, 2]", '"text"', "42", "null", "true", "[" * 100_000 + "]" * 100_000]


def test_form_values_that_are_not_text_are_refused_on_every_form(hostile) -> None:
    kind = "form values that are not text"
    for (who, client), path in itertools.product(hostile.clients(), hostile.post_routes()):
        token = {"X-CSRFToken": hostile.token(client)}
        for value in NOT_TEXT_VALUES:
            for name in hostile.field_names:
                body = {name: "ordinary text" for name in hostile.field_names} | {name: value}
                response = hostile.send(kind, client, "POST", path, json=body, headers=token)
                assert response.status_code == 400, (who, path, name, value)
        for raw in NOT_AN_OBJECT:
            response = hostile.send(
                kind,
                client,
                "POST",
                path,
                data=raw,
                content_type="application/json",
                headers=token,
            )
            assert response.status_code == 400, (who, path, raw[:20])
        hostile.send(
            kind,
            client,
            "POST",
            path,
            stores_nothing=True,
            data="",
            content_type="application/json",
            headers=token,
        )
        for name in hostile.field_names:
            files = {name: (io.BytesIO(b"not a text field"), "upload.txt")}
            response = hostile.send(kind, client, "POST", path, data=files, headers=token)
            assert response.status_code == 400, (who, path, name)
    hostile.report(kind)
    assert_no_failure_was_logged(hostile)


# --- Malformed multipart bodies ----------------------------------------------------------


def multipart(*parts: bytes, boundary: bytes = b"B0undary") -> bytes:
    return b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + (
        b"--" + boundary + b"--\r\n"
    )


# A part without a name, or a file: refused with 400.
NAMELESS_OR_FILE_PARTS = [
    multipart(b"Content-Disposition: form-data\r\n\r\nx"),
    multipart(b"Content-Disposition: form-data\r\nContent-Type: application/json\r\n\r\n{}"),
    multipart(b'Content-Disposition: form-data; filename="a.txt"\r\n\r\nx'),
    multipart(b'Content-Disposition: form-data; name="body"; filename=""\r\n\r\nx'),
    multipart(
        b'Content-Disposition: form-data; name="body"\r\n\r\nfine',
        b"Content-Disposition: form-data\r\n\r\nnameless after a good part",
    ),
]
# Otherwise broken: anything but a 500, and nothing stored.
MALFORMED_MULTIPART = [
    (
        "multipart/form-data; boundary=B0undary",
        multipart(b'Content-Disposition: form-data; name=""\r\n\r\nx'),
    ),
    (
        "multipart/form-data; boundary=B0undary",
        multipart(b"Content-Disposition: attachment\r\nContent-Type: text/plain\r\n\r\nx"),
    ),
    ("multipart/form-data; boundary=B0undary", multipart(b"no headers at all")),
    ("multipart/form-data; boundary=B0undary", b"--B0undary\r\nContent-Disposition: form"),
    ("multipart/form-data", multipart(b'Content-Disposition: form-data; name="body"\r\n\r\nx')),
    ("multipart/form-data; boundary=", b"--\r\n\r\n--"),
    ("multipart/form-data; boundary=B0undary", b"\xff\xfe" * 100),
    (
        "multipart/form-data; boundary=B0undary",
        multipart(*[b'Content-Disposition: form-data; name="p"\r\n\r\nx'] * 1500),
    ),
]


def test_malformed_multipart_bodies_are_refused_on_every_form(hostile) -> None:
    kind = "malformed multipart bodies"
    for (who, client), path in itertools.product(hostile.clients(), hostile.post_routes()):
        token = {"X-CSRFToken": hostile.token(client)}
        for body in NAMELESS_OR_FILE_PARTS:
            response = hostile.send(
                kind,
                client,
                "POST",
                path,
                data=body,
                content_type="multipart/form-data; boundary=B0undary",
                headers=token,
            )
            assert response.status_code == 400, (who, path, body[:60])
        for content_type, body in MALFORMED_MULTIPART:
            hostile.send(
                kind,
                client,
                "POST",
                path,
                stores_nothing=True,
                data=body,
                content_type=content_type,
                headers=token,
            )
    hostile.report(kind)
    assert_no_failure_was_logged(hostile)


# --- NUL characters, however they are sent ------------------------------------------------


@pytest.mark.both_databases
def test_nul_characters_are_refused_however_they_arrive(hostile) -> None:
    kind = "NUL characters"
    for (who, client), path in itertools.product(hostile.clients(), hostile.post_routes()):
        token = {"X-CSRFToken": hostile.token(client)}
        for name in hostile.field_names:
            ordinary = {name: "ordinary text" for name in hostile.field_names}
            for value in ["\x00", "text\x00", "\x00" * 50]:
                as_json = hostile.send(
                    kind, client, "POST", path, json=ordinary | {name: value}, headers=token
                )
                as_form = hostile.send(
                    kind, client, "POST", path, data=ordinary | {name: value}, headers=token
                )
                assert as_json.status_code == as_form.status_code == 400, (who, path, name)
        as_key = hostile.send(kind, client, "POST", path, json={"body\x00": "x"}, headers=token)
        in_query = hostile.send(kind, client, "POST", path + "?next=%00", headers=token)
        assert as_key.status_code == in_query.status_code == 400
    for (who, client), page in itertools.product(hostile.clients(), hostile.pages()):
        for query in ["?page=%00", "?%00=1", "?next=/index%00"]:
            response = hostile.send(kind, client, "GET", page + query)
            assert response.status_code == 400, (who, page, query)
        response = hostile.send(kind, client, "GET", page.rstrip("/") + "/%00")
        assert response.status_code in (400, 404)
    hostile.report(kind)
    assert_no_failure_was_logged(hostile)


# --- Bodies over MAX_CONTENT_LENGTH --------------------------------------------------------


def test_bodies_over_the_limit_are_refused_however_they_are_sent(hostile) -> None:
    kind = "bodies over MAX_CONTENT_LENGTH"
    limit = hostile.app.config["MAX_CONTENT_LENGTH"]
    for (who, client), path in itertools.product(hostile.clients(), hostile.post_routes()):
        token = hostile.token(client)
        form = f"csrf_token={token}&body=cut+short&username={MEMBER}&about_me=x&pad=".encode()
        for size in [limit + 1, limit + 64 * 1024, 3 * limit]:
            body = form + b"x" * (size - len(form))
            for declared in [True, False]:
                kwargs = {"input_stream": io.BytesIO(body)}
                if declared:
                    kwargs["content_length"] = len(body)
                else:  # chunked: gunicorn passes it on without a Content-Length
                    kwargs["headers"] = {"Transfer-Encoding": "chunked"}
                    kwargs["environ_overrides"] = {"wsgi.input_terminated": True}
                response = hostile.send(
                    kind,
                    client,
                    "POST",
                    path,
                    content_type="application/x-www-form-urlencoded",
                    **kwargs,
                )
                assert response.status_code == 413, (who, path, size, declared)
            as_json = json.dumps({"body": "x" * size, "csrf_token": token})
            response = hostile.send(
                kind, client, "POST", path, data=as_json, content_type="application/json"
            )
            assert response.status_code == 413
    hostile.report(kind)
    assert_no_failure_was_logged(hostile)


# --- Cookies ------------------------------------------------------------------------------


def latin1(raw: bytes) -> str:
    """Bytes as the WSGI server hands a header to the app (one character per byte)."""
    return raw.decode("latin-1")


HOSTILE_REMEMBER_COOKIES = [
    latin1("1|é".encode()),
    latin1("é|abc".encode()),
    latin1(b"1|\xed\xb3\xbf"),  # a UTF-16 surrogate, encoded
    latin1(b"1|\xff\xfe"),
    '"1|\\303\\251"',  # quoted, with octal escapes Werkzeug decodes to "é"
    '"1|\\377"',
    "1|" + "0" * 128,  # the right shape, a forged signature
    "1:" + "0" * 64 + "|" + "f" * 128,  # the old id shape
    "|",
    "||||",
    "x" * 5000,
    "",
    "a b",
]
HOSTILE_SESSION_COOKIES = [
    latin1("é.abc.def".encode()),
    latin1(b"\xed\xb3\xbf"),
    ".eJyrVipKLS5WslIqSS0uUaoFADEOBcQ.forged.signature",
    "x" * 5000,
    "...",
]
OTHER_HOSTILE_COOKIES = [
    latin1("é=é".encode()),
    "remember_token=1|a; remember_token=" + latin1("1|é".encode()),
    "=novalue",
    "; ; ;",
    latin1(b"\x00=\x00"),
]


def with_cookie_header(app: Flask, header: str) -> FlaskClient:
    """A client that sends exactly this Cookie header (the test client would rebuild it)."""
    client = app.test_client(use_cookies=False)
    client.environ_base["HTTP_COOKIE"] = header
    return client


def test_any_cookie_a_client_sends_is_ignored_or_refused_cleanly(hostile) -> None:
    kind = "cookies"
    session_cookie = hostile.member.get_cookie("session").value
    headers = [f"remember_token={value}" for value in HOSTILE_REMEMBER_COOKIES]
    headers += [
        f"session={session_cookie}; remember_token={value}" for value in HOSTILE_REMEMBER_COOKIES
    ]
    headers += [f"session={value}" for value in HOSTILE_SESSION_COOKIES]
    headers += OTHER_HOSTILE_COOKIES
    for header in headers:
        client = with_cookie_header(hostile.app, header)
        for page in hostile.pages():
            hostile.send(kind, client, "GET", page)
        for path in hostile.post_routes():
            # No CSRF token: refused (400), and the error page loads the user too.
            response = hostile.send(kind, client, "POST", path, data={"body": "x"})
            assert response.status_code == 400
    hostile.report(kind)
    assert_no_failure_was_logged(hostile)


def test_a_malformed_remember_cookie_is_deleted_and_the_session_goes_on(hostile) -> None:
    session_cookie = hostile.member.get_cookie("session").value
    client = with_cookie_header(
        hostile.app, f"session={session_cookie}; remember_token={latin1('1|é'.encode())}"
    )
    response = client.get("/index")
    assert response.status_code == 200
    assert f"Hi, {MEMBER}!" in response.get_data(as_text=True)
    deleted = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")
    ]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]


# --- Cookies replayed after logout -------------------------------------------------------


def test_cookies_copied_before_logout_sign_nobody_in_afterwards(hostile) -> None:
    kind = "cookies replayed after logout"
    members_only = {"/edit_profile", f"/user/{MEMBER}", f"/user/{MEMBER}/followers"}
    visitor = hostile.app.test_client()
    for remember, replayed in itertools.product([False, True], ["session", "remember", "both"]):
        victim = hostile.app.test_client()
        Auth(victim).login(MEMBER, remember_me=remember)
        token = csrf_token(victim, "/edit_profile")
        cookies = {
            name: cookie.value
            for name in ("session", "remember_token")
            if (cookie := victim.get_cookie(name)) is not None
        }
        Auth(victim).logout()
        kept = {"session": ["session"], "remember": ["remember_token"]}.get(
            replayed, ["session", "remember_token"]
        )
        header = "; ".join(f"{name}={cookies[name]}" for name in kept if name in cookies)
        thief = with_cookie_header(hostile.app, header)
        for page in hostile.pages():
            response = hostile.send(kind, thief, "GET", page)
            # What a visitor without any cookie gets, no more.
            expected = visitor.get(page)
            assert response.status_code == expected.status_code, (page, replayed)
            assert response.headers.get("Location") == expected.headers.get("Location")
            if page in members_only:
                assert response.headers["Location"].startswith("/login"), (page, replayed)
        for path in hostile.post_routes():
            data = {"csrf_token": token, "body": "posted with a stolen cookie", "about_me": "x"}
            hostile.send(kind, thief, "POST", path, stores_nothing=True, data=data)
    hostile.report(kind)
    assert_no_failure_was_logged(hostile)


# --- Failures carrying hostile request data: one record, one email, no forged line ----------

FORGED = "2026-01-01 00:00:00,000 ERROR [forged] FORGED RECORD [in x.py:1]"
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\u2029"]
CRASH_PATHS = ["/crash/", "/crash/other", "/crash/after-write", "/crash/logged-error"]


def hostile_failures() -> Iterator[tuple[str, dict]]:
    """(path, request options) pairs that each make one failure, carrying hostile data."""
    for line_break in LINE_BREAKS:
        forged = line_break + FORGED
        yield "/crash/text/" + quote("x" + forged, safe=""), {}
        yield "/crash/echo", {"query_string": {"text": forged}}
        yield "/crash/", {"environ_base": {"HTTP_USER_AGENT": "probe" + forged}}
        yield "/crash/other", {"environ_base": {"HTTP_REFERER": "http://x/" + forged}}
    for path in CRASH_PATHS:
        yield path, {"headers": {"X-Request-ID": "chosen-by-the-client"}}
        yield path, {"environ_overrides": {"HTTP_X_REQUEST_ID": "x\r\nX-Injected: 1"}}
        yield path, {"headers": {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil"}}
        yield path, {"headers": {"Host": "evil.example"}}
        yield path, {"environ_overrides": {"HTTP_HOST": "evil.example:666\r\n" + FORGED}}
        yield path, {"headers": {"Accept": "application/json"}}
        yield path, {"headers": {"Cookie": "remember_token=" + latin1("1|é".encode())}}
        yield path, {"query_string": {"password": "hunter2-but-longer", "next": "\x1b[2J"}}


@pytest.fixture
def hostile_site(smtp, make_app, database) -> Hostile:
    """The site under attack, with its public host name configured."""
    return Hostile(
        make_app(mail_port=smtp.port, database=database, SERVER_NAME="blog.example.com")
    )


def test_failures_with_hostile_data_give_one_record_each_and_no_forged_line(
    hostile_site, smtp, capfd
) -> None:
    kind = "failures carrying hostile request data"
    site = hostile_site
    references = []
    for (who, client), (path, options) in itertools.product(site.clients(), hostile_failures()):
        client = site.app.test_client(use_cookies=False) if "Cookie" in str(options) else client
        response = site.app_failure(kind, client, path, **options)
        assert response.status_code in (200, 500), (who, path)
        references.append(response.headers["X-Request-ID"])
    with capfd.disabled():
        site.report(kind)

    assert len(set(references)) == len(references)  # no client chose a shared reference
    assert "chosen-by-the-client" not in references
    text = log_text(site.app)
    # One error record per failure, in the request's own id; nothing else.
    records = Counter(re.findall(r"^\S+ \S+ ERROR \[([^\]]+)\]", text, re.MULTILINE))
    assert records == Counter(references)
    # Every line break in the file ends a line the app wrote; no line is forged.
    assert text.splitlines() == text.rstrip("\n").split("\n")
    assert not [line for line in text.split("\n") if line.startswith(FORGED[:23])]
    assert "FORGED RECORD" in text
    # At most one email per failure (storm control groups the repeats).
    mailed = [context_of(message)["Request id"] for message in smtp.inbox.settle(2)]
    assert mailed and len(mailed) == len(set(mailed)) <= len(references)
    for message in smtp.inbox.messages:
        assert "hunter2-but-longer" not in message.as_string()
        url = context_of(message)["URL"]
        assert url.startswith("http://blog.example.com/")
    assert "Logging error" not in capfd.readouterr().err


# --- Password guesses on one account from many addresses ------------------------------------


def test_guesses_at_one_account_from_many_addresses_lock_it_like_a_wrong_password(hostile):
    kind = "password guesses on one account from many addresses"
    limit = int(hostile.app.config["RATELIMIT_ACCOUNT"].split()[0])
    guesser = hostile.app.test_client()
    token = csrf_token(guesser, "/login")
    answers = Counter()
    for number, name in enumerate([MEMBER, MEMBER.upper(), MEMBER.title()] * limit):
        form = {"csrf_token": token, "username": name, "password": f"guess number {number}"}
        response = hostile.send(kind, guesser, "POST", "/login", stores_nothing=True, data=form)
        answers[(response.status_code, response.headers.get("Location"))] += 1
    # Now the owner, with the right password, from an address never seen before.
    owner = hostile.app.test_client()
    response = hostile.send(
        kind,
        owner,
        "POST",
        "/login",
        stores_nothing=True,
        data={
            "csrf_token": csrf_token(owner, "/login"),
            "username": MEMBER,
            "password": PASSWORD,
        },
    )
    answers[(response.status_code, response.headers.get("Location"))] += 1
    hostile.report(kind)
    assert answers == {(302, "/login"): 3 * limit + 1}
    assert_no_failure_was_logged(hostile)


# --- Languages: hostile Accept-Language headers, language cookies and choices --------------

HOSTILE_ACCEPT_LANGUAGES = [
    "",
    "xx-YY, zz;q=0.9",
    "es;q=abc",
    "es;q=-1",
    "es;q=2",
    ";;;,,,",
    "q=0.9",
    "es-" + "x" * 8000,
    ",".join(["es"] * 3000),
    latin1("español".encode()),
    latin1(b"es\xff"),
]
HOSTILE_LANGUAGE_COOKIES = ["xx", "ES", "", "x" * 5000, latin1("é".encode()), '"es', "../es"]


def is_english(response: TestResponse) -> bool:
    """A page of the site says it is English (a fragment such as a hover card, a redirect
    or a JSON answer has no <html> of its own)."""
    text = response.get_data(as_text=True)
    return response.status_code != 200 or "<html" not in text or '<html lang="en">' in text


def test_hostile_languages_get_english_on_every_page(hostile) -> None:
    """Unknown, malformed or huge Accept-Language headers and forged language cookies: the
    page in English, never a 500; a forged choice in the selector's form is refused."""
    kind = "languages"
    for header in HOSTILE_ACCEPT_LANGUAGES:
        for _name, client in hostile.clients():
            for page in hostile.pages():
                response = hostile.send(
                    kind, client, "GET", page, headers={"Accept-Language": header}
                )
                assert is_english(response), (header, page)
    for value in HOSTILE_LANGUAGE_COOKIES:
        client = with_cookie_header(hostile.app, f"language={value}")
        for page in hostile.pages():
            response = hostile.send(kind, client, "GET", page)
            assert is_english(response), (value, page)
    for _name, client in hostile.clients():
        for value in HOSTILE_LANGUAGE_COOKIES:
            data = {"csrf_token": hostile.token(client), "language": value}
            response = hostile.send(kind, client, "POST", "/language", data=data)
            assert response.status_code == 400, value
    hostile.report(kind)
    assert_no_failure_was_logged(hostile)
