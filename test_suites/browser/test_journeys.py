"""The journeys a person takes through the site, in Chromium, at desktop and phone sizes.

Every page visited is checked by ``watch.check``: no console errors, no CSP
violations, no failed request (the favicon included), no request to another
host, no serious or critical axe-core violation, and at phone width no sideways
scrolling.
"""

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.security.headers import CONTENT_SECURITY_POLICY
from test_suites.browser.page_checks import BrowserWatch
from testkit.browser import open_menu, sign_in, sign_out
from testkit.clients import PASSWORD

pytestmark = pytest.mark.browser

# The failing page of testkit.crashing, served by the crashing_server fixture.
CRASH_PATH = "/crash/"
# Both viewports share one server and database, so each has its own people.
PEOPLE = {"desktop": ("ada", "grace"), "phone": ("ada.m", "grace.m")}
# Who follows whom: a writer, a fan who already follows them, and a new reader.
FOLLOWING = {"desktop": ("hedy", "alan", "mary"), "phone": ("hedy.m", "alan.m", "mary.m")}
# 70 characters without a space: must wrap inside a 375-pixel screen.
LONG_WORD = "example.com/" + "a-very-long-path-without-spaces" + "x" * 27
TOKYO = timedelta(hours=9)  # the readers' time zone, set on the browser context


def register(page: Page, watch: BrowserWatch, base: str, username: str) -> None:
    """Register, and land signed in on the home page."""
    page.goto(f"{base}/register")
    watch.check(page, "register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Welcome to Microblog, {username}!")
    expect(page).to_have_url(f"{base}/index")
    expect(page.get_by_role("heading", name=f"Hi, {username}!")).to_be_visible()
    watch.check(page, "home (after registering)")


def log_in(page: Page, watch: BrowserWatch, username: str) -> None:
    """Sign in on the sign-in page, and land on the home page."""
    sign_in(page, username)
    expect(page.get_by_role("heading", name=f"Hi, {username}!")).to_be_visible()
    watch.check(page, "home")


def write_post(page: Page, watch: BrowserWatch, text: str) -> None:
    page.get_by_label("Say something").fill(text)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Your post is now live!")
    watch.check(page, "home (after posting)")


def go_to(page: Page, link: str) -> None:
    """Follow a link of the navigation."""
    open_menu(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()


def follow_counts(page: Page, followers: str, following: str) -> None:
    """The profile shows both counts, each a link to the people counted."""
    main = page.locator("main")
    expect(main.get_by_role("link", name=followers, exact=True)).to_be_visible()
    expect(main.get_by_role("link", name=following, exact=True)).to_be_visible()


def log_out(page: Page, watch: BrowserWatch) -> None:
    sign_out(page)
    expect(page.get_by_role("alert")).to_contain_text("You have been logged out.")
    # (On a phone the menu is closed again, so the link is there but hidden.)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Log in", include_hidden=True)).to_be_attached()
    expect(nav.get_by_role("link", name="Register", include_hidden=True)).to_be_attached()
    expect(page.get_by_role("button", name="Log out", include_hidden=True)).to_have_count(0)
    watch.check(page, "log in (after logging out)")


def test_a_person_registers_posts_edits_the_profile_and_logs_out(
    page: Page, watch: BrowserWatch, live_server, viewport, screenshot
) -> None:
    base = live_server
    me, other = PEOPLE[viewport]

    # Someone else is already there, with a post of their own.
    register(page, watch, base, other)
    write_post(page, watch, f"Hello from {other}! Anyone else here?")
    log_out(page, watch)

    # A mistyped repeat password is reported next to the field it concerns.
    response = page.goto(f"{base}/register")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.get_by_label("Username").fill(me)
    page.get_by_label("Email").fill(f"{me}@example.com")
    password = page.get_by_label("Password", exact=True)
    # The rules are read out with the field before any mistake.
    expect(password).to_have_accessible_description(
        "8 to 128 characters. Common passwords are refused."
    )
    password.fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD + "!")
    page.get_by_role("button", name="Register").click()
    repeat = page.get_by_label("Repeat password")
    expect(repeat).to_have_attribute("aria-invalid", "true")
    expect(repeat).to_have_accessible_description("Passwords must match.")
    watch.check(page, "register (invalid)")
    register(page, watch, base, me)
    log_out(page, watch)

    # A wrong password is refused with a message; the right one lets me in.
    sign_in(page, me, "not my password")
    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    watch.check(page, "log in (wrong password)")
    page.get_by_role("alert").get_by_role("button", name="Close").click()
    expect(page.get_by_role("alert")).to_have_count(0)

    # Log in, write a post, see it on the home page, in the reader's time zone.
    # Following nobody yet, I see my own posts and the way to everyone's.
    log_in(page, watch, me)
    write_post(page, watch, f"My first post, with a long link: {LONG_WORD}")
    first = page.locator(".post-list li").first
    expect(first).to_contain_text(LONG_WORD)
    expect(first.get_by_role("link", name=me)).to_be_visible()
    expect(page.locator(".post-list")).not_to_contain_text(f"Hello from {other}!")
    expect(page.locator("main").get_by_role("link", name="Explore")).to_be_visible()
    posted = first.locator("time")
    expect(posted).to_have_text(re.compile(r"^(just now|now|\d+ seconds? ago|1 minute ago)$"))
    utc = datetime.fromisoformat(posted.get_attribute("datetime"))
    expect(posted).to_have_attribute("title", re.compile(f"{(utc + TOKYO):%H:%M}"))
    watch.check(page, "home")

    # The post is on my profile too, under my name.
    open_menu(page)
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(me)
    expect(page.locator("main")).to_contain_text(
        re.compile(r"Last seen (just now|now|\d+ seconds? ago)")
    )
    expect(page.locator(".post-list")).to_contain_text(LONG_WORD)
    expect(page.locator(".post-list")).not_to_contain_text(f"Hello from {other}!")
    watch.check(page, "profile")

    # Edit the profile: a long about-me wraps on a phone.
    page.get_by_role("link", name="Edit your profile").click()
    watch.check(page, "edit profile")
    page.get_by_label("About me").fill(f"Writes about {LONG_WORD}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Your changes have been saved.")
    watch.check(page, "edit profile (saved)")
    open_menu(page)
    page.get_by_role("link", name="Profile").click()
    expect(page.locator(".about-me")).to_have_text(f"Writes about {LONG_WORD}")
    watch.check(page, "profile", screenshot=screenshot("profile"))

    # Taking someone else's name fails with a message next to the field.
    page.get_by_role("link", name="Edit your profile").click()
    page.get_by_label("Username").fill(other.upper())
    page.get_by_role("button", name="Save").click()
    username = page.get_by_label("Username")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_accessible_description(
        re.compile(r"^Please use a different username\. 3 to 64 letters")
    )
    watch.check(page, "edit profile (name taken)", screenshot=screenshot("edit-profile-taken"))

    # My name is unchanged; logging out ends the session.
    open_menu(page)
    expect(page.get_by_role("link", name="Profile")).to_have_attribute("href", f"/user/{me}")
    log_out(page, watch)
    page.goto(f"{base}/user/{me}")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_a_first_visit_shows_explore_with_sign_in_and_register_links(
    page: Page, watch: BrowserWatch, live_server
) -> None:
    base = live_server
    # The browser fetches the page's icon by itself; a 404 there would show as a
    # failed request (and a red line in the console) on the very first visit.
    with page.context.expect_event(
        "response", lambda response: "favicon" in response.url
    ) as icon_response:
        response = page.goto(f"{base}/")
    assert icon_response.value.status == 200
    assert icon_response.value.url == f"{base}/static/favicon.svg"
    assert response.status == 200
    expect(page).to_have_url(f"{base}/explore")
    expect(page).to_have_title("Explore - Microblog")
    expect(page.get_by_role("heading", name="Explore", level=1)).to_be_visible()
    main = page.locator("main")
    expect(main.get_by_role("link", name="Register")).to_be_visible()
    open_menu(page)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Explore")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("link", name="Register")).to_be_visible()
    expect(nav.get_by_role("link", name="Home")).to_have_count(0)
    watch.check(page, "explore (first visit)")

    # Browsers that ignore <link rel="icon"> ask for /favicon.ico: it is there too.
    icon = page.request.get(f"{base}/favicon.ico")
    assert icon.ok, icon.status
    assert icon.url == f"{base}/static/favicon.svg"
    assert icon.headers["content-type"].startswith("image/svg+xml")

    # A page that needs an account still asks for one.
    page.goto(f"{base}/user/nobody-in-particular")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    watch.check(page, "log in (profile needs an account)")
    go_to(page, "Register")
    expect(page).to_have_url(f"{base}/register")
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    watch.check(page, "register")


def test_the_post_form_counts_the_characters_left_while_typing(
    page: Page, watch: BrowserWatch, live_server, viewport
) -> None:
    name = {"desktop": "cora", "phone": "cora.m"}[viewport]
    register(page, watch, live_server, name)
    body = page.get_by_label("Say something")
    # The hint is read out with the field, and counts down as the post is written.
    expect(body).to_have_accessible_description("140 characters left")
    expect(page.locator("#body-help")).to_have_attribute("aria-live", "polite")
    body.press_sequentially("Hello")
    expect(body).to_have_accessible_description("135 characters left")
    body.fill("x" * 139)
    expect(body).to_have_accessible_description("1 character left")
    body.fill("x" * 140)
    expect(body).to_have_accessible_description("0 characters left")
    body.fill("")
    expect(body).to_have_accessible_description("140 characters left")
    watch.check(page, "home (writing a post)")
    body.press_sequentially("Counting down")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Your post is now live!")
    # A fresh form after posting: the count starts again.
    expect(page.get_by_label("Say something")).to_have_accessible_description(
        "140 characters left"
    )
    watch.check(page, "home (after posting)")


def test_following_someone_brings_their_posts_into_the_home_feed(
    page: Page, watch: BrowserWatch, live_server, viewport, screenshot
) -> None:
    base = live_server
    writer, fan, reader = FOLLOWING[viewport]
    writer_posts = [
        f"{writer} here: the garden is finally blooming.",
        f"Reading about early computers today ({writer}).",
    ]

    # A writer with posts, and a fan who already follows them.
    register(page, watch, base, writer)
    for text in writer_posts:
        write_post(page, watch, text)
    log_out(page, watch)
    register(page, watch, base, fan)
    page.goto(f"{base}/edit_profile")
    page.get_by_label("About me").fill(f"Reads everything {writer} writes.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Your changes have been saved.")
    page.goto(f"{base}/user/{writer}")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(f"You are following {writer}.")
    log_out(page, watch)

    # A new reader lands signed in on a feed of their own posts, pointed to Explore.
    register(page, watch, base, reader)
    main = page.locator("main")
    expect(main).to_contain_text("You are not following anyone yet")
    expect(main).to_contain_text("No posts yet.")
    write_post(page, watch, f"Hello, I am {reader} and new here.")
    feed = page.locator(".post-list")
    expect(feed).to_contain_text(f"I am {reader}")
    expect(feed).not_to_contain_text(writer_posts[0])

    # Explore shows everyone's posts, newest first, with their authors linked.
    main.get_by_role("link", name="Explore").click()
    expect(page).to_have_url(f"{base}/explore")
    expect(page.get_by_role("heading", name="Explore", level=1)).to_be_visible()
    posts = page.locator(".post-list li")
    expect(posts.first).to_contain_text(f"I am {reader}")
    expect(page.locator(".post-list")).to_contain_text(writer_posts[1])
    watch.check(page, "explore")

    # The writer's profile, opened from their post.
    post = posts.filter(has_text=writer_posts[1])
    post.get_by_role("link", name=writer, exact=True).click()
    expect(page).to_have_url(f"{base}/user/{writer}")
    expect(page.get_by_role("heading", level=1)).to_have_text(writer)
    expect(main).to_contain_text(
        re.compile(r"Last seen (just now|now|\d+ (seconds?|minutes?) ago)")
    )
    follow_counts(page, "1 follower", "0 following")
    expect(main.get_by_role("link", name="Edit your profile")).to_have_count(0)
    watch.check(page, "profile (someone else)", screenshot=screenshot("profile-follow"))

    # Follow, with a double click as people do: a message, the counts change by
    # one, the button becomes Unfollow.
    page.get_by_role("button", name="Follow", exact=True).dblclick()
    expect(page.get_by_role("alert").first).to_contain_text(f"You are following {writer}.")
    expect(page).to_have_url(f"{base}/user/{writer}")
    follow_counts(page, "2 followers", "0 following")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(page.get_by_role("button", name="Follow", exact=True)).to_have_count(0)
    watch.check(page, "profile (following)")

    # Who follows the writer: the fan and the reader, each linked, by name.
    main.get_by_role("link", name="2 followers").click()
    expect(page).to_have_url(f"{base}/user/{writer}/followers")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"People following {writer}")
    people = page.locator("main li")
    expect(people).to_have_count(2)
    expect(people.get_by_role("link")).to_have_text([fan, reader])
    expect(people.first).to_contain_text(f"Reads everything {writer} writes.")
    watch.check(page, "followers", screenshot=screenshot("followers"))

    # Whom the reader follows: the writer.
    people.get_by_role("link", name=reader, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(reader)
    follow_counts(page, "0 followers", "1 following")
    expect(main.get_by_role("button", name="Follow", exact=True)).to_have_count(0)
    expect(main.get_by_role("link", name="Edit your profile")).to_be_visible()
    main.get_by_role("link", name="1 following").click()
    expect(page).to_have_url(f"{base}/user/{reader}/following")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"People {reader} follows")
    expect(people.get_by_role("link")).to_have_text([writer])
    watch.check(page, "following")
    page.get_by_role("link", name=f"Back to {reader}").click()
    expect(page).to_have_url(f"{base}/user/{reader}")

    # The home feed now has the writer's posts with mine, newest first.
    go_to(page, "Home")
    expect(page).to_have_url(f"{base}/index")
    expect(posts).to_have_count(3)
    expect(posts.first).to_contain_text(f"I am {reader}")
    expect(posts.nth(1)).to_contain_text(writer_posts[1])
    expect(posts.nth(2)).to_contain_text(writer_posts[0])
    expect(main).not_to_contain_text("You are not following anyone yet")
    watch.check(page, "home (following someone)", screenshot=screenshot("home"))

    # Unfollow, from the writer's name in the feed: the counts go back.
    posts.nth(1).get_by_role("link", name=writer, exact=True).click()
    page.get_by_role("button", name="Unfollow").click()
    expect(page.get_by_role("alert")).to_contain_text(f"You are no longer following {writer}.")
    expect(page).to_have_url(f"{base}/user/{writer}")
    follow_counts(page, "1 follower", "0 following")
    expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    watch.check(page, "profile (unfollowed)")
    go_to(page, "Home")
    expect(posts).to_have_count(1)
    expect(page.locator(".post-list")).not_to_contain_text(writer)
    expect(main).to_contain_text("You are not following anyone yet")
    watch.check(page, "home")

    # Signed out, the site's address opens Explore, with these posts on top.
    log_out(page, watch)
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/explore")
    expect(posts.first).to_contain_text(f"I am {reader}")
    watch.check(page, "explore (signed out)", screenshot=screenshot("explore"))


def test_changing_the_password_signs_out_the_other_browser(
    page: Page, watch: BrowserWatch, browser: Browser, axe_source: str, live_server, viewport
) -> None:
    base = live_server
    name = {"desktop": "lin", "phone": "lin.m"}[viewport]
    new_password = "a brand new passphrase"
    register(page, watch, base, name)
    # The same person, signed in on another computer.
    elsewhere = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        elsewhere_watch = BrowserWatch(elsewhere, axe_source, "desktop")
        other = elsewhere.new_page()
        other.goto(f"{base}/login")
        log_in(other, elsewhere_watch, name)
        # Reading a page that needs an account.
        other.goto(f"{base}/user/{name}")
        expect(other.get_by_role("heading", level=1)).to_have_text(name)

        page.goto(f"{base}/edit_profile")
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password", exact=True).fill(new_password)
        page.get_by_label("Repeat new password").fill(new_password)
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("alert")).to_contain_text("Your password has been changed.")
        watch.check(page, "edit profile (password changed)")

        # This browser stays signed in; the other one is sent to the sign-in page.
        page.goto(f"{base}/index")
        expect(page.get_by_role("heading", name=f"Hi, {name}!")).to_be_visible()
        other.reload()
        expect(other).to_have_url(re.compile(r"/login\?next="))
        elsewhere_watch.check(other, "log in (signed out elsewhere)")
        # Where the new password now works.
        sign_in(other, name, new_password)
        expect(other).to_have_url(f"{base}/user/{name}")
        expect(other.get_by_role("heading", level=1)).to_have_text(name)
    finally:
        elsewhere.close()


def test_a_profile_with_many_posts_reads_page_by_page(
    page: Page, watch: BrowserWatch, live_server, server_environment, viewport
) -> None:
    base = live_server
    per_page = int(server_environment["POSTS_PER_PAGE"])
    writer = {"desktop": "pat", "phone": "pat.m"}[viewport]
    register(page, watch, base, writer)
    for number in range(1, per_page + 2):
        write_post(page, watch, f"Post number {number}")

    page.goto(f"{base}/user/{writer}")
    posts = page.locator(".post-list li")
    expect(posts).to_have_count(per_page)
    expect(posts.first).to_contain_text(f"Post number {per_page + 1}")
    expect(page.get_by_role("link", name="Newer posts")).to_have_count(0)
    watch.check(page, "profile (first of two pages)")

    page.get_by_role("link", name="Older posts").click()
    expect(posts).to_have_count(1)
    expect(posts.first).to_contain_text("Post number 1")
    expect(page.get_by_role("link", name="Older posts")).to_have_count(0)
    watch.check(page, "profile (second page)")

    page.get_by_role("link", name="Newer posts").click()
    expect(posts).to_have_count(per_page)
    expect(page).to_have_url(f"{base}/user/{writer}?page=1")


def test_a_missing_page_shows_the_404_page_in_the_site_layout(
    page: Page, watch: BrowserWatch, live_server, screenshot
) -> None:
    response = page.goto(f"{live_server}/no/such/page")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("main")).to_contain_text("We could not find that page.")
    expect(page.locator("main")).not_to_contain_text("The requested URL was not found")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Microblog")
    expect(page).to_have_title("Page not found - Microblog")
    watch.check(page, "404", status=404, screenshot=screenshot("404"))
    # Without an account, the home page is Explore.
    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(re.compile(r"/explore$"))
    watch.check(page, "explore (from the 404 page)")


def test_a_crash_shows_the_500_page_with_the_reference_found_in_the_log(
    page: Page, watch: BrowserWatch, crashing_server, server_environment, viewport, screenshot
) -> None:
    response = page.goto(f"{crashing_server}{CRASH_PATH}")
    assert response.status == 500
    reference = response.headers["x-request-id"]
    expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
    expect(page).to_have_title("Something went wrong - Microblog")
    expect(page.locator("main")).to_contain_text("It has been reported")
    expect(page.locator(".error-reference")).to_have_text(f"Error reference: {reference}")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Microblog")
    watch.check(page, "500", status=500)
    # The administrator finds the same reference next to the traceback.
    log = Path(server_environment["LOG_DIR"]) / "microblog.log"
    logged = log.read_text()
    assert re.search(rf"ERROR \[{reference}\] Exception on {CRASH_PATH} \[GET\]", logged)
    assert "DeliberateFailure: boom" in logged

    # Behind a load balancer its request id is the reference. A fixed one here also
    # keeps the committed screenshot the same from run to run.
    balancer_id = f"lb-{viewport}-7f3a9c2e41d8"
    page.set_extra_http_headers({"X-Request-ID": balancer_id})
    page.reload()
    expect(page.locator(".error-reference")).to_have_text(f"Error reference: {balancer_id}")
    watch.check(page, "500", status=500, screenshot=screenshot("500"))
    assert f"ERROR [{balancer_id}] Exception on {CRASH_PATH}" in log.read_text()


def test_too_many_wrong_passwords_show_the_429_page_in_the_site_layout(
    page: Page, watch: BrowserWatch, crashing_server, screenshot
) -> None:
    # Both viewports share the loopback address, so the allowance may already be
    # spent: keep trying until the site says stop (3 per minute on this server).
    page.goto(f"{crashing_server}/login")
    for _attempt in range(4):
        with page.expect_response(f"{crashing_server}/login") as answer:
            sign_in(page, "nobody", "not the password")
        if answer.value.status == 429:
            break
        expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    expect(page.get_by_role("heading", name="Please wait a moment")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Too many attempts from your address.")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Microblog")
    watch.check(page, "429", status=429, screenshot=screenshot("429"))
