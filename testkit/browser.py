"""Steps a person takes in the browser suite's Chromium (Playwright), shared by its journeys."""

from playwright.sync_api import Page

from testkit.clients import PASSWORD


def sign_in(page: Page, username: str, password: str = PASSWORD, base: str | None = None) -> None:
    """Fill in the sign-in form and press Sign in: the page's own form, or ``base``'s /login."""
    if base is not None:
        page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
