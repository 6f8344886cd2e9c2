"""The page checks themselves catch what they are there for, against the real CSP."""

import pytest
from playwright.sync_api import Error, Page

from test_suites.browser.page_checks import BrowserWatch
from testkit.services.processes import wait_until

pytestmark = pytest.mark.browser

# What a careless template change could bring: an inline script, a CDN stylesheet,
# a script error, a picture that is not there, an element too wide for a phone.
SABOTAGE = """() => {
  const script = document.createElement("script");
  script.textContent = "document.title = 'inline'";
  document.body.append(script);
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "https://cdn.example.net/bootstrap.css";
  document.head.append(link);
  console.error("something broke");
  const picture = document.createElement("img");
  picture.src = "/static/no-such-picture.png";
  picture.alt = "";
  document.querySelector("main").append(picture);
  const wide = document.createElement("div");
  wide.style.width = "1000px";  // CSSOM, which CSP allows: a too-wide element
  wide.textContent = "wide";
  document.querySelector("main").append(wide);
}"""


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_page_checks_report_csp_violations_console_errors_other_hosts_and_overflow(
    page: Page, watch: BrowserWatch, live_server
) -> None:
    page.goto(f"{live_server}/login")
    page.evaluate(SABOTAGE)
    wait_until(
        lambda: len(watch.csp_violations) >= 2 and watch.console_errors and watch.failed_responses,
        5,
    )
    # Another site opened in the same browser context: it is never reached.
    other_tab = page.context.new_page()
    with pytest.raises(Error):
        other_tab.goto("https://example.org/")
    other_tab.close()

    with pytest.raises(AssertionError) as failure:
        watch.check(page, "log in (sabotaged)", record=False)

    report = str(failure.value)
    assert '"directive": "script-src-elem"' in report
    assert '"blocked": "https://cdn.example.net/bootstrap.css"' in report
    assert "console error: something broke" in report
    assert f"failed request: 404 {live_server}/static/no-such-picture.png" in report
    assert "request to another host: https://example.org/" in report
    assert "scrolls sideways" in report
    # The sabotage was stopped by the site's policy, not merely noticed.
    assert page.title() == "Sign in - Microblog"
