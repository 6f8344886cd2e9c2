"""The home feed, Explore, the first visit, pages past the end, and the small things a
person notices: the favicon and the post form's character counter."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.database import utcnow
from app.extensions import db
from app.models import Post, User
from testkit.clients import (
    assert_security_headers,
    follow,
    link_to,
    make_user,
    page_text,
    submit,
)


def add_posts(*posts: tuple[User, str]) -> None:
    """Add posts a minute apart, in the order given (the last is the newest)."""
    start = utcnow() - timedelta(hours=1)
    for minute, (author, body) in enumerate(posts):
        db.session.add(Post(body=body, author=author, timestamp=start + timedelta(minutes=minute)))
    db.session.commit()


def in_order(page: str, *texts: str) -> bool:
    positions = [page.index(text) for text in texts]
    return positions == sorted(positions)


def explore_links(page: str) -> int:
    return page.count('href="/explore"')


# --- The home feed ----------------------------------------------------------------------------


@pytest.mark.both_databases
def test_feed_shows_followed_and_own_posts_but_not_others(client, logged_in):
    bob, carol = make_user("bob"), make_user("carol")
    add_posts((bob, "bob writes"), (carol, "carol writes"), (logged_in, "alice writes"))
    follow(client, "bob")
    page = page_text(client.get("/index"))
    assert "bob writes" in page and "alice writes" in page
    assert "carol writes" not in page
    assert in_order(page, "alice writes", "bob writes")
    assert 'href="/user/bob"' in page


def test_feed_of_someone_following_nobody_shows_own_posts_and_points_to_explore(client, logged_in):
    bob = make_user("bob")
    add_posts((bob, "bob writes"), (logged_in, "alice writes"))
    page = page_text(client.get("/index"))
    assert "alice writes" in page
    assert "bob writes" not in page
    assert explore_links(page) == 2  # the navigation's, and the pointer in the feed
    follow(client, "bob")
    page = page_text(client.get("/index"))
    assert "bob writes" in page
    assert explore_links(page) == 1  # only the navigation's


def test_feed_follows_the_follow_and_unfollow_buttons(client, logged_in):
    make_user("bob")
    add_posts((User.by_username("bob"), "bob writes"))
    assert "bob writes" not in page_text(client.get("/"))
    follow(client, "bob")
    assert "bob writes" in page_text(client.get("/"))
    submit(client, "/unfollow/bob", {}, form_page="/user/bob")
    assert "bob writes" not in page_text(client.get("/"))


def test_home_and_index_are_the_same_feed(client, logged_in):
    add_posts((logged_in, "alice writes"))
    for path in ("/", "/index"):
        response = client.get(path)
        assert response.status_code == 200
        assert "alice writes" in page_text(response)


# --- Explore ----------------------------------------------------------------------------------


def test_explore_is_open_to_visitors_and_shows_everyones_posts_newest_first(client, alice):
    bob = make_user("bob")
    add_posts((alice, "alice writes"), (bob, "bob writes"))
    response = client.get("/explore")
    assert response.status_code == 200
    page = page_text(response)
    assert in_order(page, "bob writes", "alice writes")
    assert 'href="/user/bob"' in page and 'href="/user/alice"' in page  # authors linked
    assert "?d=identicon&amp;s=48" in page  # with their avatars


@pytest.mark.both_databases
def test_explore_pages_through_everyones_posts(client, logged_in):
    bob = make_user("bob")
    add_posts(*[(bob if n % 2 else logged_in, f"post number {n}") for n in range(7)])
    first = page_text(client.get("/explore"))
    assert in_order(first, "post number 6", "post number 5", "post number 4")
    assert "post number 3" not in first
    assert link_to(first, "Older posts").startswith("/explore?page=2&after=")
    assert "Newer posts" not in first
    second = page_text(client.get(link_to(first, "Older posts")))
    assert in_order(second, "post number 3", "post number 2", "post number 1")
    last = page_text(client.get(link_to(second, "Older posts")))
    assert "post number 0" in last and "post number 1" not in last
    assert link_to(last, "Newer posts") == "/explore?page=2" and "Older posts" not in last
    assert posts_and_links(page_text(client.get("/explore?page=3"))) == posts_and_links(last)
    assert client.get("/explore?page=4").status_code == 404


def test_explore_without_posts_says_so(client):
    response = client.get("/explore")
    assert response.status_code == 200
    assert "No posts yet." in page_text(response)


def test_explore_is_in_the_navigation_for_everyone(client, alice, auth):
    assert 'href="/explore"' in page_text(client.get("/login"))
    auth.login()
    page = page_text(client.get("/index"))
    assert 'href="/explore"' in page
    assert 'aria-current="page"' in page_text(client.get("/explore"))


def test_visitors_see_log_in_and_register_in_the_navigation(client, alice, auth):
    page = page_text(client.get("/explore"))
    assert re.search(r'<a class="nav-link" href="/login">Log in</a>', page)
    assert re.search(r'<a class="nav-link" href="/register">Register</a>', page)
    auth.login()
    page = page_text(client.get("/explore"))
    assert 'href="/register"' not in page
    assert ">Log in</a>" not in page


def test_a_first_visit_shows_the_site_not_a_login_prompt(client, alice):
    add_posts((alice, "hello world"))
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/explore"
    page = page_text(response)
    assert "hello world" in page
    assert "Please log in" not in page


# --- Register lands on the home feed ----------------------------------------------------------


def test_a_new_account_lands_signed_in_on_its_home_feed(client, auth):
    response = auth.register("bob", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/index"
    page = page_text(response)
    assert "Welcome to Microblog, bob!" in page
    assert 'name="body"' in page  # the post form
    assert explore_links(page) == 2  # follows nobody yet: pointed to Explore


# --- Pages past the end -----------------------------------------------------------------------


PAGINATED = ["/index", "/explore", "/user/alice", "/user/alice/followers", "/user/alice/following"]


@pytest.mark.parametrize("path", PAGINATED)
@pytest.mark.both_databases
def test_a_page_past_the_last_is_the_404_page(client, logged_in, path):
    people = [make_user(name) for name in ("bob", "carol", "dave", "erin")]
    for person in people:  # four of each: two pages at three a page
        logged_in.follow(person)
        person.follow(logged_in)
    add_posts(*[(logged_in, f"post {n}") for n in range(4)])

    assert client.get(f"{path}?page=2").status_code == 200
    response = client.get(f"{path}?page=3")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)
    assert client.get(f"{path}?page=1000").status_code == 404


@pytest.mark.parametrize("path", PAGINATED)
def test_an_empty_list_has_one_page_and_no_second(client, logged_in, path):
    assert client.get(path).status_code == 200
    assert client.get(f"{path}?page=2").status_code == 404


@pytest.mark.parametrize("path", PAGINATED)
@pytest.mark.both_databases
def test_page_links_never_lead_to_an_empty_page(client, logged_in, path):
    people = [make_user(name) for name in ("bob", "carol", "dave")]
    for person in people:  # exactly one full page of each
        logged_in.follow(person)
        person.follow(logged_in)
    add_posts(*[(logged_in, f"post {n}") for n in range(3)])
    page = page_text(client.get(path))
    assert "?page=2" not in page


# --- Older posts links read on from the last post shown ---------------------------------------

POST_LISTS = ["/index", "/explore", "/user/alice"]


def posts_and_links(page: str) -> tuple[list[str], str | None, str | None]:
    """What a list page shows: its posts, and where Newer and Older lead (the rest of
    the page, a CSRF token for one, changes from one request to the next)."""
    posts = re.findall(r'class="mb-0 post-body">([^<]*)<', page)
    return posts, link_to(page, "Newer posts"), link_to(page, "Older posts")


@pytest.mark.parametrize("path", POST_LISTS)
@pytest.mark.both_databases
def test_older_posts_continue_after_the_last_post_shown_when_new_posts_arrive(
    client, logged_in, path
):
    add_posts(*[(logged_in, f"post {n}") for n in range(6)])
    first = page_text(client.get(path))
    assert in_order(first, "post 5", "post 4", "post 3") and "post 2" not in first
    older = link_to(first, "Older posts")

    for n in range(2):  # posted while the reader reads
        db.session.add(Post(body=f"newer {n}", author=logged_in, timestamp=utcnow()))
    db.session.commit()
    second = page_text(client.get(older))
    # Nothing seen twice, nothing skipped: what a typed ?page=2 would shift.
    assert in_order(second, "post 2", "post 1", "post 0") and "post 3" not in second
    assert "post 3" in page_text(client.get(f"{path}?page=2"))


@pytest.mark.parametrize("path", POST_LISTS)
@pytest.mark.parametrize(
    "after", ["abc", "-1", "0", "1.5", "1e3", "2147483648", "99999999999999999999999999"]
)
@pytest.mark.both_databases
def test_an_unreadable_after_is_ignored_like_a_typed_page_number(client, logged_in, path, after):
    add_posts(*[(logged_in, f"post {n}") for n in range(6)])
    response = client.get(f"{path}?page=2&after={after}")
    assert response.status_code == 200
    assert posts_and_links(page_text(response)) == posts_and_links(
        page_text(client.get(f"{path}?page=2"))
    )


@pytest.mark.parametrize("path", POST_LISTS)
@pytest.mark.both_databases
def test_after_a_post_that_does_not_exist_is_the_404_page(client, logged_in, path):
    add_posts(*[(logged_in, f"post {n}") for n in range(6)])
    assert client.get(f"{path}?page=2&after=999999").status_code == 404


@pytest.mark.parametrize("path", POST_LISTS)
def test_after_is_ignored_on_the_first_page(client, logged_in, path):
    add_posts(*[(logged_in, f"post {n}") for n in range(6)])
    first = page_text(client.get(path))
    last_id = db.session.scalar(sa.select(sa.func.min(Post.id)))
    again = page_text(client.get(f"{path}?page=1&after={last_id}"))
    assert posts_and_links(again) == posts_and_links(first)


@pytest.mark.both_databases
def test_older_posts_of_a_post_with_a_twin_timestamp_skip_neither(client, logged_in):
    # Posts of the same instant are ordered by id: reading on from one must not
    # lose its twin.
    instant = utcnow() - timedelta(minutes=5)
    for n in range(6):
        db.session.add(Post(body=f"twin {n}", author=logged_in, timestamp=instant))
    db.session.commit()
    first = page_text(client.get("/explore"))
    second = page_text(client.get(link_to(first, "Older posts")))
    shown = [f"twin {n}" for n in range(6) if f"twin {n}" in first + second]
    assert len(shown) == 6 and in_order(second, "twin 2", "twin 1", "twin 0")


# --- Small things a person notices ------------------------------------------------------------


def test_every_page_names_the_favicon(client, alice, auth):
    icon = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    assert icon in page_text(client.get("/explore"))
    assert icon in page_text(client.get("/missing"))
    auth.login()
    assert icon in page_text(client.get("/index"))


def test_favicon_ico_is_not_a_404(client):
    response = client.get("/favicon.ico", follow_redirects=True)
    try:
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert response.request.path == "/static/favicon.svg"
    finally:
        response.close()


def test_the_post_form_shows_the_characters_left_and_loads_its_script(client, logged_in):
    page = page_text(client.get("/index"))
    field = re.search(r"<textarea [^>]*>", page).group(0)
    assert 'maxlength="140"' in field
    assert 'data-counter="body-help"' in field
    assert 'aria-describedby="body-help"' in field
    assert '<div id="body-help" class="form-text">At most 140 characters.</div>' in page
    assert '<script src="/static/post-counter.js" defer></script>' in page
    assert "<script>" not in page  # no inline script: the CSP would block it

    script = client.get("/static/post-counter.js")
    try:
        assert script.status_code == 200
        assert script.mimetype in ("text/javascript", "application/javascript")
        assert "characters left" in page_text(script)
        assert_security_headers(script)
    finally:
        script.close()


def test_pages_without_the_post_form_do_not_load_the_counter(client, logged_in):
    assert "post-counter.js" not in page_text(client.get("/explore"))
    assert "post-counter.js" not in page_text(client.get("/user/alice"))


def test_the_server_still_refuses_a_post_over_140_characters(client, logged_in):
    response = submit(client, "/index", {"body": "y" * 141})
    assert response.status_code == 200
    assert "Field must be between 1 and 140 characters" in page_text(response)
    assert 'id="body-help"' in page_text(response)  # the hint stays with the error
