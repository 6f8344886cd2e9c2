"""Fixtures of the browser suite: one Chromium and one server per session.

Chromium (Debian's package) and axe-core (``npm ci`` here) are installed by
testkit/install-system-packages.sh, never by the tests: without them the suite
is skipped with the reason, except in CI (CI=true), where that is a failure.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from test_suites.browser.page_checks import BrowserWatch, axe_tally
from testkit.languages import write_pseudo_catalogue
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import SETUP_SCRIPT, unavailable
from testkit.services.production import production_environment, upgrade_database
from testkit.services.smtp import SmtpSink, smtp_sink

CHROMIUM = Path("/usr/bin/chromium")
AXE_SCRIPT = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
LOGIN_LIMIT = "3 per minute"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (never Playwright's own browser download)."""
    if not CHROMIUM.exists():
        unavailable(
            f"the browser suite needs Chromium: {CHROMIUM} is missing "
            f"(Debian package chromium; run {SETUP_SCRIPT})"
        )
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core at the version pinned in test_suites/browser/package-lock.json."""
    if not AXE_SCRIPT.exists():
        unavailable(
            f"the browser suite needs axe-core: {AXE_SCRIPT} is missing "
            f"(npm ci in test_suites/browser/; run {SETUP_SCRIPT})"
        )
    return AXE_SCRIPT.read_text()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                # Belt and braces for the network rule: the browser can resolve no
                # name but the loopback address (page requests are also routed).
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[SmtpSink]:
    """The SMTP server the live servers mail to (password reset links): ``mail_sink.inbox``."""
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="session")
def server_environment(
    tmp_path_factory: pytest.TempPathFactory, mail_sink: SmtpSink
) -> dict[str, str]:
    env = production_environment(
        tmp_path_factory.mktemp("browser-server"),
        # Reset links are mailed here; their address (SITE_URL) is the server's own.
        MAIL_SERVER=mail_sink.host,
        MAIL_PORT=str(mail_sink.port),
        # Plain http on loopback: Secure cookies would not be sent back.
        SESSION_COOKIE_SECURE="0",
        # Small pages, so that a few posts show the "Older posts" / "Newer posts" links.
        POSTS_PER_PAGE="5",
        # The journeys post forms quickly, like no person does.
        RATELIMIT_ENABLED="0",
        # One post a batch: an export lasts long enough for its progress bar to be seen.
        EXPORT_BATCH_SIZE="1",
    )
    upgrade_database(env)
    return env


def serve(app: str, env: dict[str, str], output: Path) -> Iterator[str]:
    # One worker with threads: the browser fetches a page's files in parallel.
    threads = ["--threads", "4"]
    with gunicorn_server(
        app, environment=env, output=output, workers=1, options=threads, own_url_as="SITE_URL"
    ) as up:
        yield up.url


@pytest.fixture(scope="session")
def live_server(server_environment: dict[str, str], tmp_path_factory) -> Iterator[str]:
    """The base URL of the real application (microblog:app)."""
    output = tmp_path_factory.mktemp("gunicorn") / "microblog.log"
    yield from serve("microblog:app", server_environment, output)


# The navigation bar's counts are asked for every second (30 in production): a test
# sees a count change without waiting half a minute.
QUICK_POLL_SECONDS = "1"


@pytest.fixture(scope="session")
def quick_poll_server(server_environment: dict[str, str], tmp_path_factory) -> Iterator[str]:
    """The real application and database, its pages polling for their counts every second.

    A server of its own, so that the other journeys' pages keep the production
    interval: a page polling while its person is signed out elsewhere gets a 401,
    which those journeys would rightly count as a failed request.
    """
    env = {**server_environment, "UNREAD_POLL_SECONDS": QUICK_POLL_SECONDS}
    output = tmp_path_factory.mktemp("gunicorn") / "quick_poll.log"
    yield from serve("microblog:app", env, output)


@pytest.fixture(scope="session")
def crashing_server(server_environment: dict[str, str], tmp_path_factory) -> Iterator[str]:
    """The same application and database plus testkit's failing routes, rate limits on.

    The limits are on as in production, only lower, so a few wrong passwords
    reach the 429 page. It trusts one proxy, as behind a load balancer: the 500
    page's test plays that balancer and names the request (X-Request-ID).
    """
    env = {
        **server_environment,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_AUTH": LOGIN_LIMIT,
        "TRUSTED_PROXIES": "1",
    }
    output = tmp_path_factory.mktemp("gunicorn") / "crashing_app.log"
    yield from serve("testkit.crashing_app:app", env, output)


@pytest.fixture(scope="session")
def pseudo_locale_server(server_environment: dict[str, str], tmp_path_factory) -> Iterator[str]:
    """The application and database again, offering the pseudo-locale too.

    Its catalogue is made now from the strings Babel extracts from app/: a page
    visited in it (a browser asking for ``PSEUDO``) shows, and ``watch.check``
    reports, any text that did not come from the catalogue.
    """
    catalogue = tmp_path_factory.mktemp("pseudo-locale")
    write_pseudo_catalogue(catalogue)
    env = {**server_environment, "PSEUDO_CATALOGUE_DIR": str(catalogue)}
    output = tmp_path_factory.mktemp("gunicorn") / "pseudo_locale_app.log"
    yield from serve("testkit.pseudo_locale_app:app", env, output)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def browser_locale() -> str:
    """The language the browser asks for (Accept-Language); a module may ask for another."""
    return "en-GB"


def open_context(browser: Browser, viewport: str, locale: str) -> Iterator[BrowserContext]:
    context = browser.new_context(**VIEWPORTS[viewport], locale=locale, timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def context(browser: Browser, viewport: str, browser_locale: str) -> Iterator[BrowserContext]:
    yield from open_context(browser, viewport, browser_locale)


@pytest.fixture
def watch(context: BrowserContext, axe_source: str, viewport: str) -> BrowserWatch:
    return BrowserWatch(context, axe_source, viewport)


@pytest.fixture
def page(context: BrowserContext, watch: BrowserWatch) -> Page:
    return context.new_page()


@pytest.fixture
def second_context(
    browser: Browser, viewport: str, browser_locale: str
) -> Iterator[BrowserContext]:
    """Another person's browser, on a screen of the same size: cookies of its own."""
    yield from open_context(browser, viewport, browser_locale)


@pytest.fixture
def second_watch(second_context: BrowserContext, axe_source: str, viewport: str) -> BrowserWatch:
    return BrowserWatch(second_context, axe_source, viewport)


@pytest.fixture
def second_page(second_context: BrowserContext, second_watch: BrowserWatch) -> Page:
    return second_context.new_page()


@pytest.fixture
def screenshot(viewport: str):
    def path(name: str) -> Path:
        return SCREENSHOTS / f"{name}-{viewport}.png"

    return path


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand the axe-core tally to the main process, which prints it."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["axe_tally"] = axe_tally.to_list()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """In the main process of an xdist run: add up what each worker's browsers saw."""
    axe_tally.extend(getattr(node, "workeroutput", {}).get("axe_tally", []))


def pytest_terminal_summary(terminalreporter) -> None:
    if axe_tally.rows:
        terminalreporter.section("axe-core violations by impact, every page visited")
        terminalreporter.write_line(axe_tally.table())
