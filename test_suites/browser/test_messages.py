"""Private messages, notifications, blocking and hover cards in Chromium, at desktop and
phone sizes: two people write to each other, each in a browser of their own, while the
navigation bar's counts change without a reload; one blocks the other and unblocks
them from the list; an author's card opens on hover and on focus, and follows.

These journeys run against ``quick_poll_server`` (conftest.py), whose pages ask for
their counts every second instead of every 30. Every page visited is checked by
``check_spotless``: ``watch.check`` (console, CSP, other hosts, sideways scrolling on
a phone), and no axe-core finding at all.
"""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from test_suites.browser.page_checks import BrowserWatch, check_spotless
from testkit.browser import sign_in
from testkit.clients import Auth, LiveClient

pytestmark = pytest.mark.browser

# Both viewports share one server and database: each has its own people and tag.
CORRESPONDENTS = {"desktop": ("amara", "bastien"), "phone": ("amara.m", "bastien.m")}
BLOCKING = {"desktop": ("delphine", "caspar"), "phone": ("delphine.m", "caspar.m")}
CARDS = {"desktop": ("wren", "yusuf"), "phone": ("wren.m", "yusuf.m")}
TAGS = {"desktop": "beekeeping", "phone": "honeybees"}
# Markup a page would run or draw if the text reached it unescaped.
HOSTILE = (
    '<script>window.hijacked = true</script><img src="x" alt="x"> '
    "Are you coming on <b>Friday</b>? Bring the map & a torch."
)
ANSWER = "Yes! I'll bring the map.\nSee you at the station at 9."
# The poll asks every second: a count changes well within this, or it never will.
POLL_WAIT_MS = 5_000
# A page's mark that only a reload would take away.
MARK = "window.notReloaded"


def register(base: str, *names: str) -> None:
    for name in names:
        assert Auth(LiveClient(base)).register(name).status == 302


def counted_link(page: Page, name: str) -> Locator:
    """The navigation bar's Messages or Notifications link, by the name a screen reader
    hears: "Messages" alone, or with its count ("Messages 2 unread")."""
    # The bar holds the links twice, one copy hidden by the stylesheet at each width:
    # before it has loaded, both count as shown.
    page.wait_for_load_state("load")
    nav = page.get_by_role("navigation", name="Main")
    return nav.get_by_role("link", name=name, exact=True)


def alert(page: Page) -> Locator:
    return page.get_by_role("alert")


def message_bodies(page: Page) -> Locator:
    return page.get_by_role("list", name="Messages").locator(".message-body")


def send(page: Page, text: str) -> None:
    """Write ``text`` in the open conversation's form and press Send."""
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def test_two_people_write_to_each_other_while_their_counts_change_without_a_reload(
    page: Page,
    watch: BrowserWatch,
    second_page: Page,
    second_watch: BrowserWatch,
    quick_poll_server,
    viewport,
    screenshot,
) -> None:
    base = quick_poll_server
    writer, reader = CORRESPONDENTS[viewport]
    register(base, writer, reader)
    sign_in(page, writer, base=base)
    expect(page).to_have_url(f"{base}/index")

    # The reader's home page stays open, untouched from here on.
    sign_in(second_page, reader, base=base)
    expect(second_page).to_have_url(f"{base}/index")
    second_page.evaluate(f"{MARK} = true")
    expect(counted_link(second_page, "Messages")).to_be_visible()
    expect(counted_link(second_page, "Notifications")).to_be_visible()

    # The writer goes from the reader's profile to their (empty) conversation.
    page.goto(f"{base}/user/{reader}")
    page.get_by_role("link", name="Send a message").click()
    expect(page).to_have_url(f"{base}/messages/{reader}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Messages with {reader}")
    expect(page.get_by_text("No messages yet.")).to_be_visible()
    check_spotless(page, watch, "conversation (none yet)")
    send(page, HOSTILE)
    expect(alert(page)).to_contain_text("Your message has been sent.")
    expect(message_bodies(page)).to_have_text([HOSTILE])

    # Within a poll, the reader's page counts the conversation and the notification.
    expect(counted_link(second_page, "Messages 1 unread")).to_be_visible(timeout=POLL_WAIT_MS)
    expect(counted_link(second_page, "Notifications 1 unread")).to_be_visible()
    # The writer follows the reader too: one more notification.
    page.goto(f"{base}/user/{reader}")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(alert(page)).to_contain_text(f"You are following {reader}.")
    expect(counted_link(second_page, "Notifications 2 unread")).to_be_visible(timeout=POLL_WAIT_MS)
    assert second_page.evaluate(MARK) is True

    # The reader's Messages page: the conversation, marked unread, its last message.
    counted_link(second_page, "Messages 1 unread").click()
    expect(second_page).to_have_url(f"{base}/messages")
    conversations = second_page.get_by_role("list", name="Your conversations").get_by_role(
        "listitem"
    )
    expect(conversations).to_have_count(1)
    expect(conversations.first).to_contain_text(writer)
    expect(conversations.first.get_by_text("Unread", exact=True)).to_be_visible()
    expect(conversations.first).to_contain_text("<script>window.hijacked = true</script>")
    check_spotless(second_page, second_watch, "messages", screenshot=screenshot("messages"))

    # Opening it reads it; the markup is only text, and nothing of it ran.
    conversations.first.get_by_role("link", name=writer, exact=True).click()
    expect(second_page).to_have_url(f"{base}/messages/{writer}")
    expect(message_bodies(second_page)).to_have_text([HOSTILE])
    markup = second_page.get_by_role("list", name="Messages").locator("script, img, b")
    expect(markup).to_have_count(0)
    assert second_page.evaluate("window.hijacked") is None
    expect(counted_link(second_page, "Messages")).to_be_visible()
    # Reading the conversation read its notification; the follow's is still new.
    expect(counted_link(second_page, "Notifications 1 unread")).to_be_visible()
    send(second_page, ANSWER)
    expect(alert(second_page)).to_contain_text("Your message has been sent.")
    expect(message_bodies(second_page)).to_have_text([HOSTILE, ANSWER])
    mine = second_page.locator(".message-mine")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("You")
    check_spotless(
        second_page, second_watch, "conversation", screenshot=screenshot("conversation")
    )

    # The writer's page (still the profile they followed from) counts the answer.
    page.evaluate(f"{MARK} = true")
    expect(counted_link(page, "Messages 1 unread")).to_be_visible(timeout=POLL_WAIT_MS)
    assert page.evaluate(MARK) is True
    counted_link(page, "Messages 1 unread").click()
    page.get_by_role("list", name="Your conversations").get_by_role(
        "link", name=reader, exact=True
    ).click()
    expect(message_bodies(page)).to_have_text([HOSTILE, ANSWER])
    expect(page.locator(".message-theirs")).to_contain_text(reader)
    expect(counted_link(page, "Messages")).to_be_visible()

    # The reader's notifications, newest first: the follow still new, the message read.
    counted_link(second_page, "Notifications 1 unread").click()
    expect(second_page).to_have_url(f"{base}/notifications")
    told = second_page.get_by_role("list", name="Your notifications").get_by_role("listitem")
    expect(told).to_have_text(
        [
            re.compile(rf"^\s*New\s+{re.escape(writer)}\s+followed you\."),
            re.compile(rf"^\s*{re.escape(writer)}\s+sent you a message\."),
        ]
    )
    expect(told.first.get_by_text("New", exact=True)).to_be_visible()
    # This page marked them read: its own navigation bar counts nothing.
    expect(counted_link(second_page, "Notifications")).to_be_visible()
    check_spotless(
        second_page, second_watch, "notifications", screenshot=screenshot("notifications")
    )
    second_page.reload()
    expect(told).to_have_count(2)
    expect(second_page.get_by_text("New", exact=True)).to_have_count(0)


def test_a_block_ends_the_follow_refuses_messages_and_is_undone_from_the_blocked_list(
    page: Page,
    watch: BrowserWatch,
    second_page: Page,
    second_watch: BrowserWatch,
    quick_poll_server,
    viewport,
    screenshot,
) -> None:
    base = quick_poll_server
    blocker, blocked = BLOCKING[viewport]
    register(base, blocker)
    follower = LiveClient(base)
    assert Auth(follower).register(blocked).status == 302
    assert follower.submit(f"/follow/{blocker}", {}, form_page=f"/user/{blocker}").status == 302

    # The blocker blocks from the other's profile: the follow ends both ways.
    sign_in(page, blocker, base=base)
    page.goto(f"{base}/user/{blocked}")
    expect(page.get_by_role("link", name="1 following")).to_be_visible()
    page.get_by_role("button", name="Block", exact=True).click()
    expect(alert(page)).to_contain_text(f"You have blocked {blocked}.")
    expect(page.get_by_role("link", name="0 following")).to_be_visible()
    expect(page.get_by_role("button", name="Unblock", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Send a message")).to_have_count(0)
    expect(page.get_by_role("button", name="Follow", exact=True)).to_have_count(0)
    check_spotless(page, watch, "profile (blocked)")

    # The one blocked sees the same profile as before, but can neither write nor follow.
    sign_in(second_page, blocked, base=base)
    second_page.goto(f"{base}/user/{blocker}")
    expect(second_page.get_by_role("link", name="0 followers")).to_be_visible()
    second_page.get_by_role("link", name="Send a message").click()
    send(second_page, "Did I do something wrong?")
    field = second_page.get_by_label("Your message")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(second_page.locator("#body-error")).to_have_text("You cannot message this user.")
    expect(second_page.get_by_text("No messages yet.")).to_be_visible()
    check_spotless(second_page, second_watch, "conversation (refused)")
    second_page.goto(f"{base}/user/{blocker}")
    second_page.get_by_role("button", name="Follow", exact=True).click()
    expect(alert(second_page)).to_contain_text("You cannot follow this user.")
    expect(second_page.get_by_role("link", name="0 followers")).to_be_visible()

    # From the profile editor to the list of people blocked, and unblocked from there.
    page.goto(f"{base}/edit_profile")
    page.get_by_role("link", name="See and unblock the people you have blocked").click()
    expect(page).to_have_url(f"{base}/blocked")
    expect(page.get_by_role("heading", level=1)).to_have_text("People you have blocked")
    listed = page.get_by_role("list", name="People you have blocked").get_by_role("listitem")
    expect(listed).to_have_count(1)
    expect(listed.first.get_by_role("link", name=blocked, exact=True)).to_have_attribute(
        "href", f"/user/{blocked}"
    )
    check_spotless(page, watch, "blocked", screenshot=screenshot("blocked"))
    listed.first.get_by_role("button", name=f"Unblock {blocked}").click()
    expect(page).to_have_url(f"{base}/blocked")
    expect(alert(page)).to_contain_text(f"You have unblocked {blocked}.")
    expect(page.get_by_text("You have not blocked anyone.")).to_be_visible()
    check_spotless(page, watch, "blocked (nobody)")

    # Now the message goes; the follow did not come back by itself.
    second_page.goto(f"{base}/messages/{blocker}")
    send(second_page, "Did I do something wrong?")
    expect(alert(second_page)).to_contain_text("Your message has been sent.")
    second_page.goto(f"{base}/user/{blocker}")
    expect(second_page.get_by_role("button", name="Follow", exact=True)).to_be_visible()


def tab_to(page: Page, target: Locator, most: int = 40) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{most} presses of Tab never reached {target}")


def test_an_authors_card_opens_on_hover_and_on_focus_closes_with_escape_and_follows(
    page: Page, watch: BrowserWatch, quick_poll_server, viewport, screenshot
) -> None:
    base = quick_poll_server
    author, reader = CARDS[viewport]
    tag = TAGS[viewport]
    writer = LiveClient(base)
    assert Auth(writer).register(author).status == 302
    about = "Keeps two hives on the allotment."
    profile = {"username": author, "about_me": about}
    assert writer.submit("/edit_profile", profile).status == 302
    assert writer.submit("/index", {"body": f"First honey of the year! #{tag}"}).status == 302
    register(base, reader)
    sign_in(page, reader, base=base)
    page.goto(f"{base}/tag/{tag}")
    # The author's name on their post (the card, once open, has a link of that name too).
    name = page.locator(".post-list a[data-hover-card]")
    expect(name).to_have_text(author)
    card = page.get_by_role("group", name=f"About {author}")
    follow = card.get_by_role("button", name="Follow", exact=True)

    if viewport == "phone":
        # A tap is no hover: it follows the link, to the profile, which shows the same.
        name.tap()
        expect(page).to_have_url(f"{base}/user/{author}")
        page.go_back()
        expect(page).to_have_url(f"{base}/tag/{tag}")
    else:
        # Pointing at the name opens the card; the pointer may move into it.
        name.hover()
        expect(card).to_be_visible()
        expect(name).to_have_attribute("aria-expanded", "true")
        follow.hover()
        page.wait_for_timeout(500)  # longer than the card waits before closing
        expect(card).to_be_visible()
        page.mouse.move(0, 0)
        expect(card).to_have_count(0)
        expect(name).to_have_attribute("aria-expanded", "false")

    # By keyboard: Tab to the name opens the card, Tab goes on into it.
    tab_to(page, name)
    expect(card).to_be_visible()
    expect(card.get_by_role("img")).to_have_count(0)  # the avatar is decoration (alt="")
    expect(card.locator("img")).to_have_attribute("src", re.compile(r"gravatar\.com/avatar/"))
    expect(card).to_contain_text(about)
    expect(card).to_contain_text("0 followers · 0 following")
    expect(name).to_have_attribute("aria-controls", re.compile(r"^hover-card-\d+$"))
    check_spotless(page, watch, "tag (hover card open)", screenshot=screenshot("hover-card"))
    tab_to(page, follow, most=3)
    # Escape closes it and gives the focus back to the name; it stays closed there.
    page.keyboard.press("Escape")
    expect(card).to_have_count(0)
    expect(name).to_be_focused()
    page.wait_for_timeout(500)  # longer than a card takes to open
    expect(card).to_have_count(0)

    # Away and back again, it opens; Enter on Follow follows, back on the same page.
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    expect(name).to_be_focused()
    expect(card).to_be_visible()
    tab_to(page, follow, most=3)
    page.keyboard.press("Enter")
    expect(alert(page)).to_contain_text(f"You are following {author}.")
    expect(page).to_have_url(f"{base}/tag/{tag}")
    tab_to(page, name)
    expect(card).to_contain_text("1 follower · 0 following")
    expect(card.get_by_role("button", name="Unfollow", exact=True)).to_be_visible()
