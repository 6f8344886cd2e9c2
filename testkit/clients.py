"""Clients that drive the site as a browser would: forms with their CSRF token.

For the Flask test client: ``csrf_token()``, ``submit()``, ``page_text()``,
``is_logged_in()``, ``assert_security_headers()``, ``make_user()``, ``signed_in()``,
``follow()``, ``unfollow()``, ``block()``, ``unblock()``, ``send_message()`` (and the
form it fills, ``message_form()``) and ``unread_counts()``. For a live server
(gunicorn, nginx): ``LiveClient``, one person's browser with its own cookies that
never follows a redirect. ``Auth`` (register, log in, log out, change the password)
works with both. ``run_together()`` starts requests from many threads at the same
moment.
"""

import functools
import html
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.message import Message
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from typing import NamedTuple, TypeVar

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import User
from app.security import headers

# The hidden field Flask-WTF renders in every form: the only copy of this pattern.
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# The message form's own key (app.messages.forms): a form sent twice is one message.
SUBMISSION = re.compile(r'name="submission" value="([^"]+)"')
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"

Result = TypeVar("Result")


class MissingCsrfToken(LookupError):
    """A page that should hold a form has no CSRF token."""


def token_in(page: str, where: str) -> str:
    """The CSRF token of the first form on ``page`` (fetched from ``where``)."""
    match = CSRF_TOKEN.search(page)
    if not match:
        raise MissingCsrfToken(f"no CSRF token on {where}")
    return match.group(1)


# --- The Flask test client ----------------------------------------------------------------


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Read the CSRF token from a page, as a browser's form would carry it."""
    return token_in(client.get(path).get_data(as_text=True), path)


def submit(client: FlaskClient, path: str, data: dict[str, object], **kwargs) -> TestResponse:
    """POST a form the way a browser does: with the token from the page."""
    form_page = kwargs.pop("form_page", path.split("?")[0])
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data}, **kwargs)


def page_text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


class PostBodies(HTMLParser):
    """The text of every post body (``<p class="... post-body">``), links included."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[str] = []
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "p" and "post-body" in classes:
            self.inside = True
            self.bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.bodies[-1] += data


def post_bodies(response: TestResponse) -> list[str]:
    """The posts a list of posts shows, in its order, as their text."""
    parser = PostBodies()
    parser.feed(page_text(response))
    return parser.bodies


def link_to(page: str, text: str) -> str | None:
    """Where the page's link reading ``text`` (e.g. "Older posts") leads; None if absent."""
    found = re.search(rf'href="([^"]*)">[^<]*{re.escape(text)}', page)
    return html.unescape(found.group(1)) if found else None


# The headers every response carries, error pages included (HSTS only with secure cookies).
SECURITY_HEADERS = {**headers.SECURITY_HEADERS, "Referrer-Policy": headers.REFERRER_POLICY}


def assert_security_headers(response: TestResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


def is_logged_in(client: FlaskClient) -> bool:
    """Whether the client's cookies open a page that is for members only."""
    return client.get("/edit_profile").status_code == 200


@functools.cache
def password_hash_of(password: str) -> str:
    """The app's own hash of ``password``, made once per process: a hash costs ~70 ms."""
    user = User()
    user.set_password(password)
    return user.password_hash


def make_user(username: str, email: str | None = None, password: str = PASSWORD) -> User:
    """Add an account straight to the database (inside an app context).

    Its password hash is the app's (``User.set_password``), shared by every account
    made here with the same password; its session token is its own.
    """
    user = User(
        username=username,
        email=email or f"{username.lower()}@example.com",
        password_hash=password_hash_of(password),
    )
    db.session.add(user)
    db.session.commit()
    return user


def signed_in(app: Flask, username: str) -> FlaskClient:
    """A new account ``username`` (inside an app context) and a test client signed in to it."""
    make_user(username)
    client = app.test_client()
    response = Auth(client).login(username)
    assert response.status_code == 302, response.status_code
    return client


def follow(client: FlaskClient, username: str, **kwargs) -> TestResponse:
    """Click the Follow button on ``username``'s profile."""
    return submit(client, f"/follow/{username}", {}, form_page=f"/user/{username}", **kwargs)


def unfollow(client: FlaskClient, username: str, **kwargs) -> TestResponse:
    """Click the Unfollow button on ``username``'s profile."""
    return submit(client, f"/unfollow/{username}", {}, form_page=f"/user/{username}", **kwargs)


def block(client: FlaskClient, username: str, **kwargs) -> TestResponse:
    """Click the Block button on ``username``'s profile."""
    return submit(client, f"/block/{username}", {}, form_page=f"/user/{username}", **kwargs)


def unblock(client: FlaskClient, username: str, **kwargs) -> TestResponse:
    """Click the Unblock button on ``username``'s profile."""
    return submit(client, f"/unblock/{username}", {}, form_page=f"/user/{username}", **kwargs)


def message_form(client: FlaskClient, username: str) -> dict[str, str]:
    """The hidden fields of the form on the conversation page with ``username``: its CSRF
    token and submission key, as the browser would send them back."""
    path = f"/messages/{username}"
    page = page_text(client.get(path))
    submission = SUBMISSION.search(page)
    if submission is None:
        raise LookupError(f"no message form on {path}")
    return {"csrf_token": token_in(page, path), "submission": submission.group(1)}


def send_message(client: FlaskClient, username: str, body: str, **kwargs) -> TestResponse:
    """Write ``body`` in the form of the conversation page with ``username``, and send it."""
    form = {**message_form(client, username), "body": body}
    return client.post(f"/messages/{username}", data=form, **kwargs)


def unread_counts(client: FlaskClient) -> dict[str, object]:
    """What the poll of the navigation bar's counts answers (``messages``, ``notifications``,
    ``state``)."""
    response = client.get("/notifications/unread")
    assert response.status_code == 200, response.status_code
    return response.get_json()


def tabs_of_one_person(
    app: Flask, count: int, form_page: str, username: str = "alice"
) -> tuple[list[FlaskClient], str]:
    """``count`` clients sharing one signed-in session (one person's tabs), and the CSRF
    token of that session, read from ``form_page``."""
    signed_in = app.test_client()
    Auth(signed_in).login(username)
    token = csrf_token(signed_in, form_page)
    session_cookie = signed_in.get_cookie("session").value
    tabs = [app.test_client() for _ in range(count)]
    for tab in tabs:
        tab.set_cookie("session", session_cookie)
    return tabs, token


def run_together(count: int, action: Callable[[int], Result]) -> list[Result]:
    """Run ``action(index)`` in ``count`` threads released at the same moment; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        results[index] = action(index)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- A live server --------------------------------------------------------------------------


class Reply(NamedTuple):
    """What a live server answered; ``headers`` is case-insensitive."""

    status: int
    headers: Message
    text: str

    @property
    def request_id(self) -> str:
        return self.headers["X-Request-ID"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back to the caller, who checks where they point."""

    def redirect_request(self, *args, **kwargs) -> None:
        return None


class LiveClient:
    """One person's browser talking to a live server: own cookies, no redirects followed."""

    def __init__(
        self,
        base_url: str,
        cookies: CookieJar | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = cookies if cookies is not None else CookieJar()
        self.headers = dict(headers or {})
        self.timeout = timeout
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect
        )

    def at(self, base_url: str) -> "LiveClient":
        """The same browser (same cookies and headers) talking to another address."""
        return LiveClient(base_url, self.cookies, self.headers, self.timeout)

    def cookie(self, name: str) -> str | None:
        """The value of one of this browser's cookies, if it has it."""
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self._open(path, None, headers)

    def post(
        self, path: str, data: dict[str, object], headers: dict[str, str] | None = None
    ) -> Reply:
        return self._open(path, urllib.parse.urlencode(data).encode(), headers)

    def download(self, path: str) -> tuple[int, bytes]:
        """GET a file (an export): the status and the body's bytes, undecoded."""
        request = urllib.request.Request(self.base_url + path, headers=self.headers)  # noqa: S310
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()

    def csrf_token(self, path: str = "/login") -> str:
        """Read the CSRF token from a page, as a browser's form would carry it."""
        page = self.get(path)
        return token_in(page.text, f"{path} ({page.status})")

    def submit(
        self,
        path: str,
        data: dict[str, object],
        headers: dict[str, str] | None = None,
        form_page: str | None = None,
    ) -> Reply:
        """POST a form the way a browser does: with the token from the page."""
        token = self.csrf_token(form_page or path.split("?")[0])
        return self.post(path, {"csrf_token": token, **data}, headers)

    def _open(self, path: str, body: bytes | None, headers: dict[str, str] | None) -> Reply:
        request = urllib.request.Request(  # noqa: S310 - the test's own server
            self.base_url + path, data=body, headers={**self.headers, **(headers or {})}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                return Reply(reply.status, reply.headers, reply.read().decode())
        except urllib.error.HTTPError as error:  # 3xx, 4xx and 5xx answers
            with error:
                return Reply(error.code, error.headers, error.read().decode())


def register_all_at_once(base_url: str, usernames: list[str]) -> list[Reply]:
    """Register each name from its own browser, all released at the same moment.

    Every browser first fetches the form (its own session and CSRF token), so the
    POSTs reach the server together: the race that unique indexes must settle.
    """
    browsers = [LiveClient(base_url) for _ in usernames]
    tokens = [browser.csrf_token("/register") for browser in browsers]

    def register(index: int) -> Reply:
        form = {
            "csrf_token": tokens[index],
            "username": usernames[index],
            "email": f"racer{index}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        }
        return browsers[index].post("/register", form)

    return run_together(len(usernames), register)


# --- Either client ----------------------------------------------------------------------------


class Auth:
    """Register, log in and log out through the forms, with a test client or a LiveClient."""

    def __init__(self, client: FlaskClient | LiveClient) -> None:
        self.client = client

    def register(
        self,
        username: str = "alice",
        email: str | None = None,
        password: str = PASSWORD,
        **kwargs,
    ) -> TestResponse | Reply:
        fields = {
            "username": username,
            "email": email or f"{username}@example.com",
            "password": password,
            "password2": password,
        }
        return self._submit("/register", fields, **kwargs)

    def login(
        self,
        username: str = "alice",
        password: str = PASSWORD,
        query: str = "",
        remember_me: bool = False,
        **kwargs,
    ) -> TestResponse | Reply:
        """Log in; ``query`` is sent as the raw query string, e.g. ``next=/index``."""
        path = f"/login?{query}" if query else "/login"
        data = {"username": username, "password": password}
        if remember_me:
            data["remember_me"] = "y"
        return self._submit(path, data, form_page="/login", **kwargs)

    def logout(self) -> TestResponse | Reply:
        return self._submit("/logout", {}, form_page="/index")

    def change_password(
        self, current: str, new: str, repeat: str | None = None
    ) -> TestResponse | Reply:
        """Fill in the profile editor's "Change password" form.

        Its fields carry the form's prefix, the CSRF token's too; every form on a
        page holds the same token.
        """
        data = {
            "password-csrf_token": self._csrf_token("/edit_profile"),
            "password-current_password": current,
            "password-new_password": new,
            "password-new_password2": new if repeat is None else repeat,
        }
        return self.client.post("/change_password", data=data)

    def _csrf_token(self, path: str) -> str:
        if isinstance(self.client, LiveClient):
            return self.client.csrf_token(path)
        return csrf_token(self.client, path)

    def _submit(self, path: str, data: dict[str, object], **kwargs) -> TestResponse | Reply:
        if isinstance(self.client, LiveClient):
            return self.client.submit(path, data, **kwargs)
        return submit(self.client, path, data, **kwargs)
