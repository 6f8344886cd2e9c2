"""Untrusted input: usernames that look alike, user text and URLs escaped, next stays home."""

import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape

from app.extensions import db
from app.models import Post, User
from testkit.clients import Auth, make_user, page_text, submit

# --- Usernames: ASCII, one owner regardless of case ------------------------------------------

HOSTILE_USERNAMES = [
    "alice\n",  # "$" in a Python regex also matches before a final newline
    "alice\r\n",
    " alice",
    "alice ",
    "\u0430lice",  # Cyrillic "a": looks exactly like alice
    "\uff41lice",  # fullwidth "a"
    "alice\u200b",  # zero-width space
    "../alice",
    "alice/../x",
    "<b>alice</b>",
]


@pytest.mark.parametrize("username", HOSTILE_USERNAMES)
def test_look_alike_and_hidden_character_usernames_are_refused(client, alice, username):
    response = Auth(client).register(username, email="impostor@example.com")
    assert response.status_code == 200
    assert "Use only letters, digits, dots, dashes and underscores." in page_text(response)
    assert [user.username for user in db.session.scalars(sa.select(User))] == ["alice"]


@pytest.mark.parametrize("username", HOSTILE_USERNAMES[:2])
def test_a_rename_to_a_hidden_character_name_is_refused(client, logged_in, username):
    response = submit(client, "/edit_profile", {"username": username, "about_me": ""})
    assert response.status_code == 200
    db.session.refresh(logged_in)
    assert logged_in.username == "alice"


@pytest.mark.parametrize(
    ("name", "email"), [("ALICE", "other@example.com"), ("bob", "Alice@Example.com")]
)
@pytest.mark.both_databases
def test_the_database_itself_refuses_a_second_owner_regardless_of_case(alice, name, email):
    db.session.add(User(username=name, email=email, password_hash="x"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- User text is always escaped -----------------------------------------------------

XSS_PAYLOADS = ["<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>"]


def assert_shown_escaped(page: str, payload: str) -> None:
    assert payload not in page
    assert str(escape(payload)) in page


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_posts_and_about_me_are_escaped(client, logged_in, payload) -> None:
    assert submit(client, "/index", {"body": payload}).status_code == 302
    data = {"username": "alice", "about_me": payload}
    assert submit(client, "/edit_profile", data).status_code == 302
    for path in ("/index", "/user/alice"):
        assert_shown_escaped(page_text(client.get(path)), payload)
    # Redisplayed inside the form field too.
    assert_shown_escaped(page_text(client.get("/edit_profile")), payload)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_a_refused_username_is_redisplayed_escaped(client, logged_in, payload) -> None:
    response = submit(client, "/edit_profile", {"username": payload, "about_me": ""})
    assert response.status_code == 200
    assert "Use only letters, digits, dots, dashes and underscores." in page_text(response)
    assert_shown_escaped(page_text(response), payload)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_hostile_usernames_are_escaped_in_pages_and_titles(client, logged_in, payload) -> None:
    # The form refuses such names; this account bypasses it, as a legacy row or a
    # future bug might, to prove the templates escape names on their own.
    make_user(payload, email="legacy@example.com")
    author = User.by_username(payload)
    db.session.add(Post(body="hello", author=author))
    author.follow(logged_in)
    logged_in.follow(author)
    db.session.commit()
    for path in ("/index", "/explore", "/user/alice/followers", "/user/alice/following"):
        assert_shown_escaped(page_text(client.get(path)), payload)
    if "/" not in payload:  # a name with "/" has no profile URL to visit
        profile = page_text(client.get("/user/" + quote(payload, safe="")))
        assert_shown_escaped(profile, payload)
        title = re.search(r"<title>(.*?)</title>", profile, re.S).group(1)
        assert title == f"{escape(payload)} - Microblog"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_hostile_urls_are_not_reflected_raw(client, logged_in, payload) -> None:
    response = client.get("/user/" + quote(payload, safe=""))
    assert response.status_code == 404
    assert payload not in page_text(response)
    response = client.get("/login?next=" + quote(payload, safe=""))
    assert payload not in page_text(response)


# --- The next redirect stays on this site ----------------------------------------------

NEXT_PAYLOADS = [
    "//evil.com",
    "////evil.com",
    "///evil.com",
    "https:evil.com",
    "http:/evil.com",
    "http:///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/%09/evil.com",
    "%0D%0A//evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "https://localhost@evil.com",
    "http://evil.com",
    "/\t/evil.com",  # a raw tab, which browsers drop from URLs
]
HONOURED_NEXT = ["/user/bob?tab=posts", "/index#x"]


def lands_on_this_site(location: str) -> bool:
    """Where a forgiving browser (WHATWG URL parsing) would go from this Location."""
    cleaned = re.sub(r"[\t\n\r]", "", location.strip("\x00 ")).replace("\\", "/")
    return urlsplit(urljoin("http://localhost/login", cleaned)).netloc == "localhost"


@pytest.mark.parametrize("encode", [False, True], ids=["raw", "encoded"])
@pytest.mark.parametrize("target", NEXT_PAYLOADS + HONOURED_NEXT)
def test_next_lands_on_this_site_and_never_fails(app, alice, target, encode) -> None:
    if "bob" in target:
        make_user("bob")
    query = "next=" + (quote(target, safe="") if encode else target)
    client = app.test_client()
    assert client.get(f"/login?{query}").status_code == 200
    failed = Auth(client).login(password="wrong password!", query=query)
    assert failed.status_code == 302
    assert lands_on_this_site(failed.headers["Location"])

    response = Auth(client).login(query=query)

    assert response.status_code == 302
    location = response.headers["Location"]
    assert lands_on_this_site(location)
    if target in HONOURED_NEXT and encode:
        assert location == target
        assert client.get(location).status_code == 200
    elif target not in HONOURED_NEXT and not encode:
        assert location == "/index"
    # Encoded once more, "/%09/evil.com" is the harmless path /%09/evil.com here.
