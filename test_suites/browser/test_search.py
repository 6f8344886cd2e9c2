"""Search in Chromium, at desktop and phone sizes: from the navigation bar's box (behind
the menu on a phone) to the results page, its people, its posts with the matched
words marked, a phrase, an exclusion, and a search that finds nothing.

Every page visited is checked by ``watch.check`` (console, CSP, other hosts,
axe-core, sideways scrolling on a phone).
"""

import re

import pytest
from playwright.sync_api import Page, expect

from test_suites.browser.page_checks import BrowserWatch, check_spotless
from testkit.browser import open_menu, sign_in
from testkit.clients import Auth, LiveClient

pytestmark = pytest.mark.browser

# Both viewports share one server and database, so each searches its own word, and
# its people are named after it: one whose name starts with it, one whose name
# only holds it (listed second, although it comes first in the alphabet), and
# the person who searches.
WORDS = {"desktop": "parsnip", "phone": "turnip"}
READERS = {"desktop": "gardener", "phone": "gardener.m"}
# The narrowest screen that shows the navigation bar unfolded (Bootstrap's sm).
NARROWEST_UNFOLDED = {"width": 576, "height": 800}
# Seven posts with the word: a page (POSTS_PER_PAGE is 5 on the live server) and
# two more; two have soup, one of them in the order of the phrase.
POSTS = [
    "Roast {word} soup tonight, bring some bread",
    "{Word}s taste sweeter after the first frost",
    "{Word} and apple cake for the bake sale",
    "Sowing {word} seeds: they are slow to come up",
    "Our {word} bed came through the storm",
    "Dug up a {word} as long as my arm",
    "Leek soup today, no {word} this time",
]
UNRELATED = "Nothing but leeks in the garden this year"


def write_posts(base: str, name: str, texts: list[str]) -> None:
    """Register ``name`` and post ``texts`` through the live server's forms."""
    client = LiveClient(base)
    assert Auth(client).register(name).status == 302
    for text in texts:
        assert client.submit("/index", {"body": text}).status == 302


def search_from_navbar(page: Page, text: str) -> None:
    """Type ``text`` in the navigation bar's search box (behind the menu on a phone), Enter."""
    open_menu(page)
    box = page.get_by_role("search").get_by_label("Search posts and people")
    box.fill(text)
    box.press("Enter")


def search_again(page: Page, text: str) -> None:
    """Search with the results page's own form."""
    page.get_by_label("Words to find").fill(text)
    page.get_by_role("button", name="Search", exact=True).click()


def test_a_person_searches_from_the_navbar_for_people_posts_a_phrase_and_an_exclusion(
    page: Page, watch: BrowserWatch, live_server, viewport, screenshot
) -> None:
    base = live_server
    word = WORDS[viewport]
    starts, holds = f"{word}.pat", f"bea.{word}"
    texts = [text.format(word=word, Word=word.title()) for text in POSTS]
    write_posts(base, starts, texts[:4])
    write_posts(base, holds, [*texts[4:], UNRELATED])
    assert Auth(LiveClient(base)).register(READERS[viewport]).status == 302
    sign_in(page, READERS[viewport], base=base)
    expect(page).to_have_url(f"{base}/index")

    # On a phone the box is folded into the menu with the links, and opens with it.
    box = page.get_by_label("Search posts and people")
    if viewport == "phone":
        expect(box).to_be_hidden()
        open_menu(page)
        expect(box).to_be_visible()
        check_spotless(page, watch, "home (menu open)")
    expect(box).to_have_attribute("placeholder", "Search")
    if viewport == "desktop":
        # Unfolded on a narrow screen, the bar still fits on one line with the box.
        navbar = page.get_by_role("navigation", name="Main")
        height, size = navbar.bounding_box()["height"], page.viewport_size
        page.set_viewport_size(NARROWEST_UNFOLDED)
        expect(box).to_be_visible()
        assert navbar.bounding_box()["height"] == height
        page.set_viewport_size(size)
    search_from_navbar(page, word)

    # The results: both people, the one whose name starts with the word first; then
    # the posts that hold it (a page of them), the word marked in each.
    expect(page).to_have_url(f"{base}/search?q={word}")
    expect(page).to_have_title(f"Search: {word} - Microblog")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Search: {word}")
    main = page.locator("main")
    expect(main.get_by_role("heading", level=2)).to_have_text(["People", "Posts"])
    people = main.locator(".list-group:not(.post-list) li")
    expect(people.get_by_role("link")).to_have_text([starts, holds])
    expect(people.first.get_by_role("link")).to_have_attribute("href", f"/user/{starts}")
    posts = main.locator(".post-list li")
    expect(posts).to_have_count(5)
    marks = main.locator(".post-list mark")
    expect(marks).to_have_count(5)
    assert {mark.lower() for mark in marks.all_text_contents()} <= {word, f"{word}s"}
    # The navbar box and the page's own form both hold the search.
    expect(page.get_by_label("Search posts and people")).to_have_value(word)
    words_to_find = page.get_by_label("Words to find")
    expect(words_to_find).to_have_value(word)
    expect(words_to_find).to_have_accessible_description(re.compile(r"^Every word must be there"))
    check_spotless(page, watch, "search results", screenshot=screenshot("search-results"))

    # The other matches are on the next page; the way back is there too.
    main.get_by_role("link", name="More matches").click()
    expect(page).to_have_url(re.compile(rf"/search\?.*q={word}"))
    expect(posts).to_have_count(2)
    expect(main.get_by_role("heading", name="People")).to_have_count(0)
    expect(main.locator(".post-list")).not_to_contain_text(UNRELATED)
    expect(main.get_by_role("link", name="Better matches")).to_be_visible()
    expect(main.get_by_role("link", name="More matches")).to_have_count(0)
    check_spotless(page, watch, "search results (more matches)")

    # A phrase: the words together and in that order, marked.
    search_again(page, f'"{word} soup"')
    expect(page.get_by_role("heading", level=1)).to_have_text(f'Search: "{word} soup"')
    expect(main.get_by_role("heading", name="People")).to_have_count(0)
    expect(posts).to_have_count(1)
    expect(posts.first.locator(".post-body")).to_have_text(texts[0])
    # (SQLite marks the phrase as one, PostgreSQL each of its words.)
    assert " ".join(posts.first.locator("mark").all_text_contents()) == f"{word} soup"
    check_spotless(page, watch, "search results (phrase)")

    # An exclusion, typed in the navbar box: no post with soup is left.
    search_from_navbar(page, f"{word} -soup")
    expect(page.get_by_label("Words to find")).to_have_value(f"{word} -soup")
    expect(posts).to_have_count(5)
    expect(main.locator(".post-list")).not_to_contain_text("soup")
    expect(main.get_by_role("link", name="More matches")).to_have_count(0)
    check_spotless(page, watch, "search results (exclusion)")

    # Every word must be there: nothing has both.
    search_again(page, f"{word} wine")
    expect(main.get_by_role("heading", level=2)).to_have_text(["Posts"])
    expect(posts).to_have_count(0)
    expect(main).to_contain_text("No posts match.")
    check_spotless(page, watch, "search results (none)")
