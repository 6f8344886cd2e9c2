"""The journeys a person takes through the site, in Chromium, at desktop and phone sizes.

Every page visited is checked by ``watch.check``: no console errors, no CSP
violations, no request to another host, no serious or critical axe-core
violation, and at phone width no sideways scrolling.
"""

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.security_headers import CONTENT_SECURITY_POLICY
from browser_tests.page_checks import BrowserWatch
from testkit.clients import PASSWORD

pytestmark = pytest.mark.browser

# The failing page of testkit.crashing, served by the crashing_server fixture.
CRASH_PATH = "/crash/"
# Both viewports share one server and database, so each has its own people.
PEOPLE = {"desktop": ("ada", "grace"), "phone": ("ada.m", "grace.m")}
# 70 characters without a space: must wrap inside a 375-pixel screen.
LONG_WORD = "https://example.com/" + "a-very-long-path-without-spaces" + "x" * 19
TOKYO = timedelta(hours=9)  # the readers' time zone, set on the browser context


def open_menu(page: Page) -> None:
    """On a phone the navigation links hide behind the menu button."""
    toggler = page.get_by_role("button", name="Toggle navigation")
    if toggler.is_visible():
        toggler.click()
        expect(page.locator("#main-nav")).to_be_visible()


def register(page: Page, watch: BrowserWatch, base: str, username: str) -> None:
    page.goto(f"{base}/register")
    watch.check(page, "register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_contain_text("Congratulations, you are now a registered")
    expect(page).to_have_url(f"{base}/login")
    watch.check(page, "log in (after registering)")


def log_in(page: Page, watch: BrowserWatch, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Hi, {username}!")).to_be_visible()
    watch.check(page, "home")


def write_post(page: Page, watch: BrowserWatch, text: str) -> None:
    page.get_by_label("Say something").fill(text)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Your post is now live!")
    watch.check(page, "home (after posting)")


def log_out(page: Page, watch: BrowserWatch) -> None:
    open_menu(page)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_contain_text("You have been logged out.")
    # (On a phone the menu is closed again, so the link is there but hidden.)
    expect(page.get_by_role("link", name="Log in", include_hidden=True)).to_be_attached()
    expect(page.get_by_role("button", name="Log out", include_hidden=True)).to_have_count(0)
    watch.check(page, "log in (after logging out)")


def test_a_person_registers_posts_edits_the_profile_and_logs_out(
    page: Page, watch: BrowserWatch, live_server, viewport, screenshot
) -> None:
    base = live_server
    me, other = PEOPLE[viewport]

    # Someone else is already there, with a post of their own.
    register(page, watch, base, other)
    log_in(page, watch, other)
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

    # A wrong password is refused with a message; the right one lets me in.
    page.get_by_label("Username").fill(me)
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    watch.check(page, "log in (wrong password)")
    page.get_by_role("alert").get_by_role("button", name="Close").click()
    expect(page.get_by_role("alert")).to_have_count(0)

    # Log in, write a post, see it on the home page, in the reader's time zone.
    log_in(page, watch, me)
    write_post(page, watch, f"My first post, with a long link: {LONG_WORD}")
    first = page.locator(".post-list li").first
    expect(first).to_contain_text(LONG_WORD)
    expect(first.get_by_role("link", name=me)).to_be_visible()
    expect(page.locator(".post-list")).to_contain_text(f"Hello from {other}!")
    posted = first.locator("time")
    expect(posted).to_have_text(re.compile(r"^(just now|now|\d+ seconds? ago|1 minute ago)$"))
    utc = datetime.fromisoformat(posted.get_attribute("datetime"))
    expect(posted).to_have_attribute("title", re.compile(f"{(utc + TOKYO):%H:%M}"))
    screenshot_path = screenshot("home")
    watch.check(page, "home", screenshot=screenshot_path)

    # The post is on my profile too.
    open_menu(page)
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name=f"User: {me}")).to_be_visible()
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


def test_changing_the_password_signs_out_the_other_browser(
    page: Page, watch: BrowserWatch, browser: Browser, axe_source: str, live_server, viewport
) -> None:
    base = live_server
    name = {"desktop": "lin", "phone": "lin.m"}[viewport]
    new_password = "a brand new passphrase"
    register(page, watch, base, name)
    log_in(page, watch, name)
    # The same person, signed in on another computer.
    elsewhere = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        elsewhere_watch = BrowserWatch(elsewhere, axe_source, "desktop")
        other = elsewhere.new_page()
        other.goto(f"{base}/login")
        log_in(other, elsewhere_watch, name)

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
        other.get_by_label("Username").fill(name)
        other.get_by_label("Password").fill(new_password)
        other.get_by_role("button", name="Sign in").click()
        expect(other.get_by_role("heading", name=f"Hi, {name}!")).to_be_visible()
    finally:
        elsewhere.close()


def test_a_profile_with_many_posts_reads_page_by_page(
    page: Page, watch: BrowserWatch, live_server, server_environment, viewport
) -> None:
    base = live_server
    per_page = int(server_environment["POSTS_PER_PAGE"])
    writer = {"desktop": "pat", "phone": "pat.m"}[viewport]
    register(page, watch, base, writer)
    log_in(page, watch, writer)
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
    expect(page.get_by_role("heading", name="Not Found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Microblog")
    expect(page).to_have_title("Not Found - Microblog")
    watch.check(page, "404", status=404, screenshot=screenshot("404"))
    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(re.compile(r"/login"))
    watch.check(page, "log in (from the 404 page)")


def test_a_crash_shows_the_500_page_with_the_reference_found_in_the_log(
    page: Page, watch: BrowserWatch, crashing_server, server_environment, viewport, screenshot
) -> None:
    response = page.goto(f"{crashing_server}{CRASH_PATH}")
    assert response.status == 500
    reference = response.headers["x-request-id"]
    expect(page.get_by_role("heading", name="Internal Server Error")).to_be_visible()
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
        page.get_by_label("Username").fill("nobody")
        page.get_by_label("Password").fill("not the password")
        with page.expect_response(f"{crashing_server}/login") as answer:
            page.get_by_role("button", name="Sign in").click()
        if answer.value.status == 429:
            break
        expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    expect(page.get_by_role("heading", name="Too Many Requests")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Too many attempts from your address.")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Microblog")
    watch.check(page, "429", status=429, screenshot=screenshot("429"))
