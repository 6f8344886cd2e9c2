"""Microblog's Flask class: what it remembers between requests changes no answer."""

import dataclasses

from flask import request

from app.application import MAX_CHECKED_FUNCTIONS
from testkit.clients import Auth, is_logged_in, make_user

KEY_A = "a" * 64
KEY_B = "b" * 64


def cookie_of(app, data: dict[str, str]) -> str:
    with app.test_request_context():
        return app.session_interface.get_signing_serializer(app).dumps(data)


def session_read_by(app, cookie: str) -> dict[str, str]:
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}):
        return dict(app.session_interface.open_session(app, request))


def test_each_app_reads_only_cookies_signed_with_its_own_keys(make_app) -> None:
    first, second = make_app(SECRET_KEY=KEY_A), make_app(SECRET_KEY=KEY_B)
    # Turn after turn, so that each app finds the other's signer in the memo.
    for _ in range(2):
        from_first, from_second = cookie_of(first, {"n": "1"}), cookie_of(second, {"n": "2"})
        assert session_read_by(first, from_first) == {"n": "1"}
        assert session_read_by(second, from_second) == {"n": "2"}
        assert session_read_by(first, from_second) == {}
        assert session_read_by(second, from_first) == {}


def test_a_rotated_key_still_reads_cookies_signed_with_the_old_one(make_app) -> None:
    cookie = cookie_of(make_app(SECRET_KEY=KEY_A), {"n": "1"})
    rotated = make_app(SECRET_KEY=KEY_B, SECRET_KEY_FALLBACKS=[KEY_A])
    assert session_read_by(rotated, cookie) == {"n": "1"}
    assert session_read_by(make_app(SECRET_KEY=KEY_B), cookie) == {}


def test_a_signed_in_browser_stays_signed_in_while_another_app_serves(make_app) -> None:
    mine, other = make_app(SECRET_KEY=KEY_A), make_app(SECRET_KEY=KEY_B)
    with mine.app_context():
        make_user("alice")
    client = mine.test_client()
    assert Auth(client).login("alice").status_code == 302
    for _ in range(2):
        assert other.test_client().get("/login").status_code == 200
        assert is_logged_in(client)


def test_plain_functions_are_run_as_they_are_and_the_memo_stays_bounded(app) -> None:
    def view() -> str:
        return "page"

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view
    for _ in range(MAX_CHECKED_FUNCTIONS + 10):
        made_per_call = lambda: None  # noqa: E731 - a new function each time
        assert app.ensure_sync(made_per_call) is made_per_call
    assert len(app.synchronous) <= MAX_CHECKED_FUNCTIONS


def test_a_callable_that_cannot_be_a_dict_key_is_still_accepted(app) -> None:
    @dataclasses.dataclass  # eq without hash: unhashable
    class Handler:
        answer: str

        def __call__(self) -> str:
            return self.answer

    handler = Handler("ok")
    assert app.ensure_sync(handler) is handler
