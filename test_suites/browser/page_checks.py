"""What the suite checks on every page a browser visits, and the axe-core tally."""

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, Route, WebError

from testkit.languages import PSEUDO, looks_translated

E2E_DIR = Path(__file__).resolve().parent
# Stands in for Gravatar's pictures (see BrowserWatch.route).
AVATAR = E2E_DIR / "avatar.svg"
GRAVATAR_HOST = "www.gravatar.com"
LOOPBACK_HOST = "127.0.0.1"
IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING_IMPACTS = {"critical", "serious"}

# Reports every Content-Security-Policy violation to Python. An init script and a
# binding work through the DevTools protocol, so the page's CSP does not apply to
# them, and the listener is in place before the page's own resources load.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
  });
}, true);
"""

# Every piece of text a reader sees on the page: its visible text nodes, the labels of
# its submit buttons and its placeholders. Left out: people's own words, which the
# templates mark translate="no" (names, posts, messages); <time>, which the browser's
# Intl writes in the page's language; <code>, machine text (an error reference, a
# token); and what only screen readers get (.visually-hidden), which is not seen.
VISIBLE_TEXTS = """
() => {
  // A textarea's text is what the person typed (a post being edited), never the site's.
  const skipped =
    "script, style, noscript, template, time, code, textarea, .visually-hidden, " +
    "[translate='no']";
  const shown = (element) =>
    element.checkVisibility({ checkVisibilityCSS: true, visibilityProperty: true });
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const parent = node.parentElement;
    if (text && parent && !parent.closest(skipped) && shown(parent)) texts.push(text);
  }
  for (const field of document.querySelectorAll("input[type=submit], input[placeholder]")) {
    if (field.closest(skipped) || !shown(field)) continue;
    texts.push(field.type === "submit" ? field.value : field.placeholder);
  }
  return texts;
}
"""


@dataclass
class AxeTally:
    """Violation counts by impact for every page axe-core checked, in visiting order.

    A page checked more than once (say, home for two people) keeps its worst count.
    """

    rows: dict[tuple[str, str], Counter] = field(default_factory=dict)

    def record(self, page_name: str, viewport: str, violations: list[dict]) -> None:
        self.add(page_name, viewport, Counter(v["impact"] for v in violations))

    def add(self, page_name: str, viewport: str, counts: Counter) -> None:
        self.rows.setdefault((page_name, viewport), Counter())
        self.rows[(page_name, viewport)] |= counts

    def to_list(self) -> list[tuple[str, str, dict[str, int]]]:
        """The rows as plain values, which an xdist worker can send to the main process."""
        return [(name, viewport, dict(counts)) for (name, viewport), counts in self.rows.items()]

    def extend(self, rows: list[tuple[str, str, dict[str, int]]]) -> None:
        for name, viewport, counts in rows:
            self.add(name, viewport, Counter(counts))

    def table(self) -> str:
        header = ["page", "viewport", *IMPACTS]
        lines = [header] + [
            [name, viewport, *(str(counts[impact]) for impact in IMPACTS)]
            for (name, viewport), counts in self.rows.items()
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join(
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"
            for line in [lines[0], ["-" * w for w in widths], *lines[1:]]
        )


axe_tally = AxeTally()


class BrowserWatch:
    """Everything one browser context does that a page check must see."""

    def __init__(self, context: BrowserContext, axe_source: str, viewport: str) -> None:
        self.axe_source = axe_source
        self.viewport = viewport
        self.console_errors: list[str] = []
        self.csp_violations: list[dict] = []
        self.foreign_requests: list[str] = []
        self.failed_responses: list[tuple[int, str]] = []
        context.expose_function("reportCspViolation", self.on_csp_violation)
        context.add_init_script(script=CSP_LISTENER)
        context.on("console", self.on_console)
        context.on("weberror", self.on_uncaught_error)
        context.on("response", self.on_response)
        context.route("**/*", self.route)

    def on_csp_violation(self, violation: dict) -> None:
        self.csp_violations.append(violation)

    def on_uncaught_error(self, error: WebError) -> None:
        self.console_errors.append(f"uncaught: {error.error}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def on_response(self, response: Response) -> None:
        # Not every failed request reaches the console: Chromium fetches the
        # favicon itself, and a 404 there is only seen on the network.
        if response.status >= 400:
            self.failed_responses.append((response.status, response.url))

    def route(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.hostname == LOOPBACK_HOST:
            route.continue_()
        elif url.scheme == "https" and url.hostname == GRAVATAR_HOST:
            # Avatars are Gravatar images by design, but the tests never leave this
            # machine: a local picture answers instead, so pages still show one.
            route.fulfill(path=AVATAR, content_type="image/svg+xml")
        else:
            # Any other host is a bug in the site (a CDN, a font, a tracker).
            self.foreign_requests.append(route.request.url)
            route.abort()

    def check(
        self,
        page: Page,
        name: str,
        status: int = 200,
        screenshot: Path | None = None,
        record: bool = True,
    ) -> None:
        """The page has loaded cleanly, fits the screen and passes axe-core."""
        page.wait_for_load_state("load")
        problems = []
        if self.viewport == "phone":
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if widths[0] > widths[1]:
                problems.append(f"scrolls sideways: {widths[0]}px of content in {widths[1]}px")
        violations = self.run_axe(page)
        if record:
            axe_tally.record(name, self.viewport, violations)
        problems += [
            f"axe {v['impact']}: {v['id']} ({v['help']}) at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in violations
            if v["impact"] in BLOCKING_IMPACTS
        ]
        problems += [
            f"console error: {text}"
            for text in self.console_errors
            if not self.is_expected_status_message(text, page.url, status)
        ]
        problems += [f"CSP violation: {json.dumps(v)}" for v in self.csp_violations]
        problems += [f"untranslated text: {text!r}" for text in self.untranslated_texts(page)]
        problems += [f"request to another host: {url}" for url in self.foreign_requests]
        problems += [
            f"failed request: {code} {url}"
            for code, url in self.failed_responses
            # The page itself, with the status the test asked for.
            if not (code == status and url == page.url)
        ]
        self.console_errors.clear()
        self.csp_violations.clear()
        self.foreign_requests.clear()
        self.failed_responses.clear()
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=screenshot, full_page=True, animations="disabled", caret="hide")
        assert not problems, f"{name} ({self.viewport}, {page.url}):\n" + "\n".join(problems)

    @staticmethod
    def untranslated_texts(page: Page) -> list[str]:
        """On a page served in the pseudo-locale, whatever text did not come through it:
        a string the code shows without the catalogue (testkit/languages.py)."""
        if page.evaluate("document.documentElement.lang") != PSEUDO:
            return []
        return [text for text in page.evaluate(VISIBLE_TEXTS) if not looks_translated(text)]

    @staticmethod
    def is_expected_status_message(text: str, url: str, status: int) -> bool:
        # Chromium logs an error page's own status as a console error; that one is
        # what the test asked for. Any other failed resource still counts.
        return status >= 400 and text == (
            f"Failed to load resource: the server responded with a status of {status} "
            f"({STATUS_NAMES[status]}) ({url})"
        )

    def run_axe(self, page: Page) -> list[dict]:
        # page.add_script_tag() would insert an inline <script>, which the site's
        # CSP rightly blocks (and reports). page.evaluate() runs through the
        # DevTools protocol, outside the page's CSP, so axe-core is injected without
        # weakening the policy (no bypass_csp) for the site's own resources.
        if not page.evaluate("'axe' in window"):
            page.evaluate(self.axe_source)
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        return result["violations"]


STATUS_NAMES = {
    404: "NOT FOUND",
    409: "CONFLICT",
    429: "TOO MANY REQUESTS",
    500: "INTERNAL SERVER ERROR",
}


def check_spotless(page: Page, watch: BrowserWatch, name: str, **kwargs) -> None:
    """``watch.check``, and axe-core found nothing at all, whatever its impact."""
    watch.check(page, name, **kwargs)
    found = axe_tally.rows[(name, watch.viewport)]
    assert not sum(found.values()), f"axe-core on {name} ({watch.viewport}): {dict(found)}"
