"""A post's own page in Chromium, at desktop and phone sizes: a thread and its replies,
links, @names and #tags, editing (two tabs at once), deleting, and a hashtag's page.

Every page visited is checked by ``watch.check`` (console, CSP, other hosts,
axe-core, sideways scrolling on a phone).
"""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from test_suites.browser.page_checks import BrowserWatch
from testkit.browser import sign_in, sign_out
from testkit.clients import Auth, LiveClient

pytestmark = pytest.mark.browser

# Both viewports share one server and database, so each has its own people and
# its own hashtag: the one who writes the post, and the one who answers it.
PEOPLE = {"desktop": ("ines", "omar"), "phone": ("ines.m", "omar.m")}
TAGS = {"desktop": "seedswap", "phone": "plantswap"}
LINK = "https://example.org/seed-swap/2025/list.html"
# As a post shows a long link: without its scheme, cut after 31 characters.
SHORT_LINK = "example.org/seed-swap/2025/list…"
LINK_REL = "nofollow ugc noopener"
# Nobody has this name: an @name of nobody stays plain text.
NOBODY = "rowan.k"
JUST_NOW = r"(just now|\d+ seconds? ago|1 minute ago)"


def posted(page: Page, text: str) -> Locator:
    """The listed post that reads ``text``."""
    return page.locator(".post-list li").filter(has_text=text)


def answered_post(page: Page) -> Locator:
    """On a reply's page, the post it answers (under "In reply to")."""
    return page.locator("main h2:text-is('In reply to') + ul")


def switch_person(page: Page, base: str, username: str) -> None:
    """Log out, and sign in as someone else (a shared computer)."""
    sign_out(page)
    sign_in(page, username)
    expect(page).to_have_url(f"{base}/index")
    expect(page.get_by_role("heading", name=f"Hi, {username}!")).to_be_visible()


def reply(page: Page, text: str) -> None:
    """Answer the post whose page is open: the reply's own page opens."""
    page.get_by_label("Your reply").fill(text)
    page.get_by_role("button", name="Reply").click()
    expect(page.get_by_role("alert")).to_contain_text("Your reply is now live!")


def save_edit(page: Page, text: str) -> None:
    page.get_by_label("Your post").fill(text)
    page.get_by_role("button", name="Save").click()


def save_from_two_tabs(page: Page, thread_url: str, first_text: str, second_text: str) -> Page:
    """Open the post's editor in this tab and a second one; save in this one, then there.

    Returns the second tab, on the page answering its save (the conflict, 409).
    """
    second_tab = page.context.new_page()
    for tab in (page, second_tab):
        tab.goto(f"{thread_url}/edit")
    save_edit(page, first_text)
    expect(page.get_by_role("alert")).to_contain_text("Your post has been updated.")
    with second_tab.expect_response(f"{thread_url}/edit") as refused:
        save_edit(second_tab, second_text)
    assert refused.value.status == 409
    return second_tab


def test_a_thread_is_answered_edited_from_two_tabs_and_deleted_with_its_replies_kept(
    page: Page, watch: BrowserWatch, live_server, viewport, screenshot
) -> None:
    base = live_server
    writer, friend = PEOPLE[viewport]
    tag = TAGS[viewport]
    for name in (writer, friend):
        assert Auth(LiveClient(base)).register(name).status == 302
    first_text = f"Seed swap at the allotment on Saturday, 10 till noon. Bring spares! #{tag}"
    answer = (
        f"@{writer} count me in! Last year's list: {LINK} #{tag.title()} "
        f"(@{NOBODY} is not on here yet)"
    )
    # How the answer starts: the same words on the other viewport name another person.
    answer_start = f"@{writer} count me in!"
    thanks = f"Thanks @{friend}, see you there!"

    # The writer posts from the home page and opens the post from its time.
    sign_in(page, writer, base=base)
    page.get_by_label("Say something").fill(first_text)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Your post is now live!")
    posted(page, first_text).locator("time").click()
    expect(page).to_have_url(re.compile(rf"^{base}/post/\d+$"))
    thread_url = page.url
    # The page's title names the author and starts the text.
    expect(page).to_have_title(re.compile(rf"^{re.escape(writer)}: Seed swap at the allotment"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Post by {writer}")
    expect(page.locator("main")).to_contain_text("No replies yet.")
    watch.check(page, "post (no replies yet)")

    # A friend finds it on Explore and answers it with an @name, a link and the #tag.
    switch_person(page, base, friend)
    page.goto(f"{base}/explore")
    posted(page, first_text).get_by_role("link", name="Reply", exact=True).click()
    expect(page).to_have_url(f"{thread_url}#reply")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    reply(page, answer)
    # The reply has a page of its own, under the post it answers, shown from the
    # top of its content: the message and the reply in sight.
    expect(page).to_have_url(re.compile(rf"^{base}/post/\d+#content$"))
    expect(page.get_by_role("alert")).to_be_in_viewport()
    expect(page.locator(".thread-post")).to_be_in_viewport()
    expect(page).not_to_have_url(re.compile(rf"^{re.escape(thread_url)}\b"))
    expect(page.get_by_role("heading", name="In reply to")).to_be_visible()
    expect(answered_post(page)).to_contain_text(first_text)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Post by {friend}")
    expect(page.locator(".thread-post")).to_contain_text(f"Replying to {writer}")
    watch.check(page, "post (a reply)")

    # In the reply, the name, the link and the tag each lead somewhere.
    body = page.locator(".thread-post .post-body")
    expect(body).to_have_text(answer.replace(LINK, SHORT_LINK))
    expect(body.get_by_role("link", name=f"@{writer}", exact=True)).to_have_attribute(
        "href", f"/user/{writer}"
    )
    link = body.get_by_role("link", name=SHORT_LINK)
    expect(link).to_have_attribute("href", LINK)
    expect(link).to_have_attribute("rel", LINK_REL)
    expect(body.get_by_role("link", name=f"#{tag.title()}")).to_have_attribute(
        "href", f"/tag/{tag}"
    )
    # A name nobody has is only text.
    expect(body.get_by_role("link", name=NOBODY)).to_have_count(0)
    expect(body.get_by_role("link")).to_have_count(3)

    # The tag, however it is written, lists both posts, newest first.
    body.get_by_role("link", name=f"#{tag.title()}").click()
    expect(page).to_have_url(f"{base}/tag/{tag}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{tag}")
    tagged = page.locator(".post-list li")
    expect(tagged).to_have_count(2)
    expect(tagged.first).to_contain_text(answer_start)
    expect(tagged.nth(1)).to_contain_text(first_text)
    watch.check(page, "tag", screenshot=screenshot("tag-page"))

    # Back on the writer's home page the post counts the reply; the writer answers.
    switch_person(page, base, writer)
    posted(page, first_text).get_by_role("link", name="1 reply").click()
    expect(page).to_have_url(f"{thread_url}#replies")
    reply(page, thanks)
    answered_post(page).locator("time").click()
    expect(page).to_have_url(thread_url)

    # The thread: the post with its author's buttons, the form, the replies oldest first.
    post = page.locator(".thread-post")
    expect(post).to_contain_text(first_text)
    expect(post).to_contain_text("2 replies")
    replies = page.locator(".post-list li")
    expect(replies).to_have_count(2)
    expect(replies.first).to_contain_text(answer_start)
    expect(replies.nth(1)).to_contain_text(thanks)
    expect(replies.nth(1).get_by_role("link", name=f"@{friend}", exact=True)).to_have_attribute(
        "href", f"/user/{friend}"
    )
    expect(page.get_by_label("Your reply")).to_be_visible()
    watch.check(page, "post (thread)", screenshot=screenshot("post-thread"))

    # The writer fixes the time: the post says it was edited.
    edited_text = first_text.replace("10 till noon", "10 till 1")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit your post")
    expect(page.get_by_label("Your post")).to_have_value(first_text)
    watch.check(page, "edit post")
    save_edit(page, edited_text)
    expect(page).to_have_url(thread_url)
    expect(page.get_by_role("alert")).to_contain_text("Your post has been updated.")
    expect(post.locator(".post-body")).to_have_text(edited_text)
    expect(post).to_contain_text(re.compile(f"edited {JUST_NOW}"))
    watch.check(page, "post (edited)", screenshot=screenshot("post-edited"))

    # Two tabs open the editor; the first saves, the second's save is refused and
    # shows both texts. Nothing was overwritten.
    first_tab_text = edited_text.replace("Saturday", "Sunday")
    second_tab_text = edited_text.replace("Bring spares!", "Bring spares and labels!")
    second_tab = save_from_two_tabs(page, thread_url, first_tab_text, second_tab_text)
    expect(second_tab.get_by_role("alert")).to_contain_text(
        "This post changed after you opened it"
    )
    expect(second_tab.get_by_role("heading", name="The saved version")).to_be_visible()
    expect(second_tab.locator("main blockquote")).to_have_text(first_tab_text)
    expect(second_tab.get_by_role("heading", name="Your version")).to_be_visible()
    expect(second_tab.get_by_label("Your post")).to_have_value(second_tab_text)
    watch.check(
        second_tab,
        "edit post (changed meanwhile)",
        status=409,
        screenshot=screenshot("post-conflict"),
    )
    # Having read the saved version, I save mine on purpose, as the page offers.
    second_tab.get_by_role("button", name="Save").click()
    expect(second_tab.get_by_role("alert")).to_contain_text("Your post has been updated.")
    second_tab.close()
    page.reload()
    expect(post.locator(".post-body")).to_have_text(second_tab_text)

    # Deleting asks first; Cancel leaves the post alone.
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this post?")
    expect(page.locator("main blockquote")).to_have_text(second_tab_text)
    delete = page.get_by_role("button", name="Delete")
    expect(delete).to_have_css("background-color", "rgb(220, 53, 69)")  # red
    watch.check(page, "delete post", screenshot=screenshot("post-delete"))
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(thread_url)
    expect(post.locator(".post-body")).to_have_text(second_tab_text)
    page.get_by_role("link", name="Delete", exact=True).click()
    delete.click()
    expect(page).to_have_url(f"{base}/index")
    expect(page.get_by_role("alert")).to_contain_text("Your post has been deleted.")
    expect(page.locator("main")).not_to_contain_text("Seed swap")
    watch.check(page, "home (post deleted)")

    # Its page stays for its replies, under a placeholder, without a form or buttons.
    page.goto(thread_url)
    expect(page).to_have_title("This post has been deleted. - Microblog")
    expect(page.get_by_role("heading", level=1)).to_have_text("A deleted post")
    expect(post).to_have_text("This post has been deleted.")
    expect(replies).to_have_count(2)
    expect(replies.first).to_contain_text(answer_start)
    # Under the placeholder they need no "Replying to" line; elsewhere they say whom.
    expect(replies.first).not_to_contain_text("Replying to")
    expect(replies.nth(1)).to_contain_text(thanks)
    expect(page.get_by_label("Your reply")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    watch.check(page, "post (deleted, with replies)", screenshot=screenshot("post-deleted-thread"))

    # Gone from Explore (it was third there, after its two replies) and from its
    # tag's page; the replies are still there.
    page.goto(f"{base}/explore")
    expect(posted(page, thanks)).to_have_count(1)
    expect(posted(page, answer_start)).to_have_count(1)
    expect(posted(page, answer_start)).to_contain_text("Replying to a deleted post")
    expect(page.locator(".post-list")).not_to_contain_text("Seed swap")
    watch.check(page, "explore (post deleted)")
    posted(page, answer_start).get_by_role("link", name=f"#{tag.title()}").click()
    expect(page).to_have_url(f"{base}/tag/{tag}")
    expect(tagged).to_have_count(1)
    expect(tagged.first).to_contain_text(answer_start)
    watch.check(page, "tag (post deleted)")
