"""Fixtures of the browser suite: one Chromium and one server per session."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from e2e import tools
from e2e.live_server import production_environment, upgrade_database
from e2e.page_checks import BrowserWatch, axe_tally
from local_services.gunicorn import gunicorn_server

LOGIN_LIMIT = "3 per minute"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def unavailable(reason: str) -> None:
    """Skip the browser suite with the reason, except in CI, which always runs it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser suite, but: {reason}", pytrace=False)
    pytest.skip(f"browser suite skipped: {reason}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        return tools.chromium_executable()
    except tools.Unavailable as error:
        unavailable(str(error))


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        return tools.axe_script().read_text()
    except tools.Unavailable as error:
        unavailable(str(error))


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
def server_environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    workdir = tmp_path_factory.mktemp("e2e-server")
    env = production_environment(workdir)
    upgrade_database(env)
    return env


def serve(app: str, env: dict[str, str], output: Path) -> Iterator[str]:
    # One worker with threads: the browser fetches a page's files in parallel.
    options = ["--threads", "4"]
    with gunicorn_server(app, env, output, workers=1, options=options) as url:
        yield url


@pytest.fixture(scope="session")
def live_server(server_environment: dict[str, str], tmp_path_factory) -> Iterator[str]:
    """The base URL of the real application (microblog:app)."""
    output = tmp_path_factory.mktemp("gunicorn") / "microblog.log"
    yield from serve("microblog:app", server_environment, output)


@pytest.fixture(scope="session")
def crashing_server(server_environment: dict[str, str], tmp_path_factory) -> Iterator[str]:
    """The same application and database plus a failing route, rate limits on.

    The limits are on as in production, only lower, so a few wrong passwords
    reach the 429 page.
    """
    env = {**server_environment, "RATELIMIT_ENABLED": "1", "RATELIMIT_AUTH": LOGIN_LIMIT}
    output = tmp_path_factory.mktemp("gunicorn") / "crashing_app.log"
    yield from serve("e2e.crashing_app:app", env, output)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def context(browser: Browser, viewport: str) -> Iterator[BrowserContext]:
    context = browser.new_context(**VIEWPORTS[viewport], locale="en-GB", timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def watch(context: BrowserContext, axe_source: str, viewport: str) -> BrowserWatch:
    return BrowserWatch(context, axe_source, viewport)


@pytest.fixture
def page(context: BrowserContext, watch: BrowserWatch) -> Page:
    return context.new_page()


@pytest.fixture
def screenshot(viewport: str):
    def path(name: str) -> Path:
        return SCREENSHOTS / f"{name}-{viewport}.png"

    return path


def pytest_terminal_summary(terminalreporter) -> None:
    if axe_tally.rows:
        terminalreporter.section("axe-core violations by impact, every page visited")
        terminalreporter.write_line(axe_tally.table())
