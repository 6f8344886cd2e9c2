"""Forgot your password? The reset journey in Chromium, at desktop and phone sizes.

The live server mails the link to the suite's SMTP server (``mail_sink``), and the
test reads it from there, as a person reads their inbox. Every page is checked by
``watch.check`` (console, CSP, other hosts, axe-core, sideways scrolling).
"""

import re
from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, expect

from test_suites.browser.page_checks import BrowserWatch
from testkit.browser import sign_in
from testkit.clients import NEW_PASSWORD, PASSWORD, Auth, LiveClient
from testkit.services.processes import wait_until
from testkit.services.smtp import SmtpSink, body_of

pytestmark = pytest.mark.browser

# Both viewports share one server and database, so each has its own person.
PEOPLE = {"desktop": "rosa", "phone": "rosa.m"}
LINK = re.compile(r"https?://\S+/reset_password/\S+")


def mail_to(sink: SmtpSink, address: str) -> EmailMessage:
    """The newest message to ``address``, once it has arrived."""
    arrived = wait_until(lambda: [m for m in sink.inbox.messages if m["To"] == address], 15)
    assert arrived, f"no email to {address}"
    return arrived[-1]


def test_a_person_resets_a_forgotten_password_by_email(
    page: Page, watch: BrowserWatch, live_server, mail_sink, viewport, screenshot
) -> None:
    base = live_server
    name = PEOPLE[viewport]
    address = f"{name}@example.com"
    assert Auth(LiveClient(base)).register(name).status == 302

    # The sign-in page offers the way back into the account.
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    watch.check(page, "reset request", screenshot=screenshot("reset-request"))

    # Typed as people do: in capitals, with a space too many.
    page.get_by_label("Email").fill(f" {address.upper()} ")
    page.get_by_role("button", name="Send me a link").click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("alert")).to_contain_text(
        "If an account uses that address, we have sent it a link."
    )
    watch.check(page, "log in (link sent)")

    # The email brings one link, to this very site (its SITE_URL).
    message = mail_to(mail_sink, address)
    assert message["Subject"] == "Reset your Microblog password"
    [link] = LINK.findall(body_of(message.get_body(("plain",))))
    assert link.startswith(f"{base}/reset_password/")

    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"For the account {name}.")
    new_password = page.get_by_label("New password", exact=True)
    expect(new_password).to_have_accessible_description(
        "8 to 128 characters. Common passwords are refused."
    )
    watch.check(page, "reset form", screenshot=screenshot("reset-form"))
    new_password.fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_contain_text("Your password has been changed.")
    expect(page.get_by_role("heading", name=f"Hi, {name}!")).to_be_visible()
    watch.check(page, "home (password reset)")

    # The link worked once; now it offers to send a new one.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("This link no longer works")
    expect(page.get_by_role("button", name="Send me a link")).to_be_visible()
    watch.check(page, "reset request (link used)")

    # Signed out, the old password no longer opens the account; the new one does.
    page.context.clear_cookies()
    sign_in(page, name, PASSWORD, base=base)
    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    sign_in(page, name, NEW_PASSWORD, base=base)
    expect(page.get_by_role("heading", name=f"Hi, {name}!")).to_be_visible()
    watch.check(page, "home")
