"""The site in other languages, in Chromium at desktop and phone sizes.

A journey over the main pages in the pseudo-locale (every string of the catalogue
transformed, made from a fresh extraction): ``watch.check`` finds no text on any of
them that did not come from the catalogue, people's own words aside. Then the main
pages in Spanish, for the screenshots in docs/screenshots/ (``*-es-*.png``).
"""

import re

import pytest
from playwright.sync_api import Page, expect

from test_suites.browser.page_checks import BrowserWatch
from testkit.clients import PASSWORD, Auth, LiveClient
from testkit.languages import PSEUDO

pytestmark = pytest.mark.browser

# The journeys share one database: each has its own people, at each size.
PEOPLE = {"desktop": ("lingua", "polyglot"), "phone": ("lingua.m", "polyglot.m")}


@pytest.fixture
def browser_locale(request: pytest.FixtureRequest) -> str:
    return PSEUDO if "pseudo" in request.node.name else "es-ES"


def people_with_posts(base: str, viewport: str, journey: str) -> tuple[str, str, int]:
    """A writer with a post and a reply, followed by a reader: their names and the post's id."""
    reader, writer = (f"{name}.{journey}" for name in PEOPLE[viewport])
    writing = LiveClient(base)
    assert Auth(writing).register(writer).status == 302
    assert writing.submit("/index", {"body": "Buenos días, #mundo"}).status == 302
    post_id = int(re.search(r'href="/post/(\d+)"', writing.get(f"/user/{writer}").text).group(1))
    reply = {"body": f"¡Hola, @{reader}! ¿Qué tal?"}
    assert writing.submit(f"/post/{post_id}", reply).status == 302
    reading = LiveClient(base)
    assert Auth(reading).register(reader).status == 302
    assert reading.submit(f"/follow/{writer}", {}, form_page=f"/user/{writer}").status == 302
    return reader, writer, post_id


def sign_in_by_field(page: Page, base: str, username: str) -> None:
    """The sign-in form filled in by its fields' ids: its labels are in another language."""
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    expect(page).to_have_url(re.compile(r"/index$"))


def test_every_page_of_a_journey_is_in_the_pseudo_locale(
    page: Page, watch: BrowserWatch, pseudo_locale_server: str, viewport: str
) -> None:
    base = pseudo_locale_server
    reader, writer, post_id = people_with_posts(base, viewport, "pseudo")
    for path in ["/explore", "/login", "/register", "/reset_password_request", f"/post/{post_id}"]:
        page.goto(base + path)
        expect(page.locator("html")).to_have_attribute("lang", PSEUDO)
        watch.check(page, f"pseudo-locale {path}")
    page.goto(f"{base}/no-such-page")
    watch.check(page, "pseudo-locale 404", status=404)

    sign_in_by_field(page, base, reader)
    watch.check(page, "pseudo-locale home")
    for path in [
        f"/user/{writer}",
        f"/user/{reader}",
        f"/user/{writer}/followers",
        f"/user/{reader}/following",
        f"/post/{post_id}",
        "/tag/mundo",
        "/search?q=buenos",
        "/edit_profile",
        "/blocked",
        f"/messages/{writer}",
        "/messages",
        "/notifications",
        "/account/export",
        "/account/delete",
        "/account/tokens",
    ]:
        page.goto(base + path)
        watch.check(page, f"pseudo-locale {path}")

    # What only a visit that does things meets: a refused form, a flash message, the
    # editor and the deletion's question of one's own post, an author's card.
    page.goto(f"{base}/index")
    post_form = page.locator("form:has(#body)")
    post_form.locator("#body").fill(" ")
    post_form.locator("[type=submit]").click()
    watch.check(page, "pseudo-locale home, a blank post refused")
    page.locator("#body").fill("Mi primera entrada")
    page.locator("form:has(#body) [type=submit]").click()
    expect(page.locator(".alert")).to_be_visible()
    watch.check(page, "pseudo-locale home, a post published")
    page.goto(f"{base}/user/{reader}")
    own_post = page.locator('a[href^="/post/"]').first.get_attribute("href")
    page.goto(f"{base}{own_post}/edit")
    watch.check(page, f"pseudo-locale {own_post}/edit")
    page.locator("form:has(#body) #body").fill(" ")
    page.locator("form:has(#body) [type=submit]").click()
    watch.check(page, f"pseudo-locale {own_post}/edit, a blank text refused")
    page.goto(f"{base}{own_post}/delete")
    watch.check(page, f"pseudo-locale {own_post}/delete")
    page.goto(f"{base}/tag/mundo")
    page.locator(".post-list a[data-hover-card]").first.focus()
    expect(page.get_by_role("group").first).to_be_visible()
    watch.check(page, "pseudo-locale hover card")


def test_the_main_pages_in_spanish(
    page: Page, watch: BrowserWatch, live_server: str, viewport: str, screenshot
) -> None:
    base = live_server
    reader, writer, post_id = people_with_posts(base, viewport, "es")
    page.goto(f"{base}/explore")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Explorar")
    watch.check(page, "explore (es)", screenshot=screenshot("explore-es"))
    page.goto(f"{base}/register")
    watch.check(page, "register (es)", screenshot=screenshot("register-es"))
    page.goto(f"{base}/no-such-page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Página no encontrada")
    watch.check(page, "404 (es)", status=404, screenshot=screenshot("404-es"))

    page.goto(f"{base}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
    watch.check(page, "login (es)", screenshot=screenshot("login-es"))
    page.get_by_label("Nombre de usuario").fill(reader)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"¡Hola, {reader}!")
    # The post form counts down in Spanish, with Spanish plurals.
    body = page.get_by_label("Di algo")
    expect(body).to_have_accessible_description("Quedan 140 caracteres")
    body.fill("x" * 139)
    expect(body).to_have_accessible_description("Queda 1 carácter")
    body.fill("")
    watch.check(page, "home (es)", screenshot=screenshot("home-es"))

    page.goto(f"{base}/user/{writer}")
    expect(page.get_by_role("link", name="1 seguidor")).to_be_visible()
    watch.check(page, "profile (es)", screenshot=screenshot("profile-es"))
    page.goto(f"{base}/post/{post_id}")
    expect(page.get_by_role("link", name="1 respuesta")).to_be_visible()
    watch.check(page, "post (es)", screenshot=screenshot("post-thread-es"))
