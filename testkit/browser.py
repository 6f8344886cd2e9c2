"""Steps a person takes in the browser suite's Chromium (Playwright), shared by its journeys."""

import re

from playwright.sync_api import Page, expect

from testkit.clients import PASSWORD


def sign_in(page: Page, username: str, password: str = PASSWORD, base: str | None = None) -> None:
    """Fill in the sign-in form and press Sign in: the page's own form, or ``base``'s /login."""
    if base is not None:
        page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_menu(page: Page) -> None:
    """On a phone the navigation links hide behind the menu button: open it, unless it is."""
    # Bootstrap's script opens the menu: a click before the page has loaded it
    # would do nothing.
    page.wait_for_load_state("load")
    toggler = page.get_by_role("button", name="Toggle navigation")
    if toggler.is_visible():
        # The button toggles: pressed again, it would close the menu.
        if toggler.get_attribute("aria-expanded") != "true":
            toggler.click()
        # The menu slides open (class "collapsing", clipping what is not yet in view)
        # and only then is "show": a click before that can land on what lies beneath.
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))


def sign_out(page: Page) -> None:
    """Press Log out in the navigation (behind the menu on a phone): the sign-in page opens."""
    open_menu(page)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
