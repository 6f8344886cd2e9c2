"""Hover cards: the small card about an author (avatar, counts, Follow) that hovering or
focusing their name shows, and the plain profile link the name stays without JavaScript."""

import re

import pytest

from app.extensions import db
from testkit.clients import block, csrf_token, follow, make_user, page_text, signed_in, submit


def author_links(page: str) -> list[str]:
    """The author links of a list of posts: the ones a hover card opens from."""
    return re.findall(
        r'<a class="fw-semibold text-decoration-none" href="([^"]+)" data-hover-card>', page
    )


@pytest.fixture
def bob(app):
    return signed_in(app, "bob")


def test_every_list_of_posts_makes_its_authors_names_profile_links_with_a_card(
    client, logged_in, bob
):
    submit(bob, "/index", {"body": "Bob's post #cards"})
    post_id = re.search(r'href="/post/(\d+)"', page_text(client.get("/explore"))).group(1)
    follow(client, "bob")
    for path in ("/index", "/explore", "/user/bob", f"/post/{post_id}", "/tag/cards"):
        assert author_links(page_text(client.get(path))) == ["/user/bob"], path
    page = page_text(client.get("/index"))
    assert '<script src="/static/hover-cards.js" defer></script>' in page


def test_the_card_shows_the_avatar_the_counts_and_a_follow_button(client, logged_in, bob):
    make_user("carol").follow(logged_in)
    db.session.commit()
    follow(bob, "alice")
    response = client.get("/user/bob/card")
    assert response.status_code == 200
    card = page_text(response)
    assert "<html" not in card and "<nav" not in card  # a fragment, not a page
    assert 'src="https://www.gravatar.com/avatar/' in card and "s=64" in card
    assert (
        '<a class="fw-semibold text-decoration-none text-break" href="/user/bob">bob</a>' in card
    )
    assert "0 followers &middot; 1 following" in card
    form = re.search(r'<form action="/follow/bob" method="post">(.*?)</form>', card, re.S).group(1)
    assert 'name="csrf_token"' in form and '<input type="hidden" name="next" value="">' in form
    assert ">Follow</button>" in form
    follow(client, "bob")
    assert ">Unfollow</button>" in page_text(client.get("/user/bob/card"))
    assert "2 followers &middot; 1 following" in page_text(client.get("/user/alice/card"))


def test_your_own_card_and_the_card_of_someone_you_block_have_no_follow_button(
    client, logged_in, bob
):
    assert "<form" not in page_text(client.get("/user/alice/card"))
    block(client, "bob")
    assert "<form" not in page_text(client.get("/user/bob/card"))


def test_following_from_a_card_comes_back_to_the_page_it_was_on(client, logged_in, bob):
    form = {"csrf_token": csrf_token(client, "/explore"), "next": "/explore?page=2"}
    response = client.post("/follow/bob", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/explore?page=2"
    assert "You are following bob." in page_text(client.get("/explore"))
    form["next"] = "/tag/x"
    assert client.post("/unfollow/bob", data=form).headers["Location"] == "/tag/x"


@pytest.mark.parametrize(
    "target", ["", "//evil.example/", "https://evil.example/", "/\\evil.example", "/ok\r\nx"]
)
def test_a_next_that_leaves_the_site_goes_to_the_profile_instead(client, logged_in, bob, target):
    form = {"csrf_token": csrf_token(client, "/explore"), "next": target}
    assert client.post("/follow/bob", data=form).headers["Location"] == "/user/bob"


def test_visitors_are_sent_to_log_in_and_an_unknown_name_has_no_card(client, alice):
    response = client.get("/user/alice/card")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    member = signed_in(client.application, "bob")
    assert member.get("/user/nobody/card").status_code == 404


def test_visitors_get_plain_author_links_and_no_card_script(client, alice):
    submit(signed_in(client.application, "bob"), "/index", {"body": "Public post"})
    page = page_text(client.get("/explore"))
    assert author_links(page) == ["/user/bob"]  # a link to the profile all the same
    assert "hover-cards.js" not in page
