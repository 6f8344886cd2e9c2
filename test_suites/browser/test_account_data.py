"""Export my data and delete my account in Chromium, at desktop and phone sizes.

The export's progress bar moves without the page reloading (static/job-progress.js),
then the page shows its download link; the deletion's confirmation says what goes,
asks for the password, and the account is gone. The live server runs its jobs in a
thread of its one process (no Redis), one post a batch (EXPORT_BATCH_SIZE=1 in
conftest.py), so that an export of a few thousand posts lasts long enough to be seen.
Every page is checked by ``watch.check`` and must have no axe-core finding at all.
"""

import json
import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from test_suites.browser.page_checks import BrowserWatch, check_spotless
from testkit.browser import sign_in
from testkit.clients import PASSWORD, Auth, LiveClient
from testkit.services.processes import wait_until
from testkit.services.production import add_posts

pytestmark = pytest.mark.browser

POSTS = 3000
# Both viewports share one server and database: each has its own people.
EXPORTERS = {"desktop": "archivist", "phone": "archivist.m"}
LEAVERS = {"desktop": "leaver", "phone": "leaver.m"}


def test_an_export_shows_its_progress_without_reloading_then_its_download(
    page: Page,
    watch: BrowserWatch,
    live_server,
    server_environment,
    viewport,
    screenshot,
    tmp_path,
) -> None:
    base = live_server
    name = EXPORTERS[viewport]
    assert Auth(LiveClient(base)).register(name).status == 302
    add_posts(server_environment["DATABASE_URL"], name, POSTS, "Note {n} of the archive")
    sign_in(page, name, base=base)
    page.goto(f"{base}/edit_profile")
    page.get_by_role("link", name="Export your data").click()
    expect(page).to_have_url(f"{base}/account/export")
    expect(page.get_by_text("You have not exported your data yet.")).to_be_visible()
    check_spotless(page, watch, "export (none yet)")

    page.get_by_role("button", name="Export my data").click()
    progress = page.locator("#export-progress")
    expect(progress).to_be_visible()
    # The script hides the no-script hint and moves the bar: the page is not reloaded
    # (a mark left on this document is still there when the bar has moved).
    expect(page.get_by_text("Refresh this page")).to_be_hidden()
    page.evaluate("window.loadedOnce = true")
    first = int(progress.get_attribute("value"))
    # (Polled from here: a function waited for in the page would be eval, which the CSP
    # rightly refuses.)
    assert wait_until(lambda: int(progress.get_attribute("value")) > max(first, 5), 60)
    assert page.evaluate("window.loadedOnce") is True
    expect(page.locator("#export-message")).to_have_text("Writing your export.")
    check_spotless(page, watch, "export (in progress)", screenshot=screenshot("export-progress"))

    # Once done, the page reloads itself with the download link.
    download_link = page.get_by_role("link", name="Download your export")
    expect(download_link).to_be_visible(timeout=120_000)
    assert page.evaluate("window.loadedOnce") is None
    check_spotless(page, watch, "export (ready)", screenshot=screenshot("export-ready"))
    with page.expect_download() as started:
        download_link.click()
    saved = tmp_path / "export.zip"
    started.value.save_as(saved)
    assert re.fullmatch(
        rf"microblog-{re.escape(name)}-\d{{4}}-\d\d-\d\d\.zip", started.value.suggested_filename
    )
    with zipfile.ZipFile(saved) as archive:
        posts = json.loads(archive.read("posts.json"))
    assert len(posts) == POSTS


def test_deleting_the_account_says_what_goes_asks_the_password_and_signs_out(
    page: Page, watch: BrowserWatch, live_server, viewport, screenshot
) -> None:
    base = live_server
    name = LEAVERS[viewport]
    writer = LiveClient(base)
    assert Auth(writer).register(name).status == 302
    for text in ("Leaving soon", "Thanks for the #garden tips"):
        assert writer.submit("/index", {"body": text}).status == 302
    sign_in(page, name, base=base)
    page.goto(f"{base}/edit_profile")
    page.get_by_role("link", name="Delete your account").click()
    expect(page).to_have_url(f"{base}/account/delete")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account?")
    removed = page.locator("main .list-group-item")
    expect(removed.nth(1)).to_have_text(re.compile(r"^Your posts and replies \(2\)\."))
    check_spotless(page, watch, "delete account", screenshot=screenshot("delete-account"))

    page.get_by_label("Your password").fill("not the password")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your password is not correct.")).to_be_visible()
    check_spotless(page, watch, "delete account (wrong password)")

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("alert")).to_contain_text("Your account is being deleted.")
    check_spotless(page, watch, "signed out (account being deleted)")

    # Once the job is done, the name signs nobody in.
    assert wait_until(lambda: "Invalid username or password" in signed_in_attempt(base, name), 30)


def signed_in_attempt(base: str, username: str) -> str:
    """The sign-in page's message after trying ``username`` with the right password."""
    browser = LiveClient(base)
    Auth(browser).login(username)
    return browser.get("/login").text
