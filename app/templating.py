"""What templates use on every page: each listed post's values, the layout's fixed URLs.

Both are departures from plain Flask made for speed (docs/performance.md): a list
of posts repeats its per-post work twenty times, and the layout asked url_for for
a dozen links on every page.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import quote

from flask import Flask, current_app, request, url_for
from markupsafe import Markup

from app.extensions import bootstrap
from app.models import UNREAD_COUNTED, User, avatar_url
from app.post_text import body_html, names_in


def utc_time(moment: datetime) -> Markup:
    """A <time> element in UTC; static/local-time.js rewrites it in the reader's zone."""
    # isoformat() writes every year with four digits (strftime's %Y does not, before 1000).
    machine = moment.isoformat(timespec="seconds")[:19] + "Z"
    shown = f"{machine[:10]} {machine[11:16]} UTC"
    # Only digits, dashes, colons, spaces and letters: nothing to escape.
    return Markup(f'<time datetime="{machine}" title="{shown}">{shown}</time>')  # noqa: S704


class ShownPost(NamedTuple):
    """A post as a list of posts shows it, every value built once, in Python."""

    id: int
    url: str
    body: Markup
    author: str
    author_url: str
    avatar: str
    time: Markup
    # When the author last changed it; None if never edited.
    edited: Markup | None
    deleted: bool
    reply_count: int
    # The post it answers; the author's name is None when that post was deleted.
    reply_to_url: str | None
    reply_to_author: str | None


def shown_posts(
    rows: Iterable[Any], marked: dict[int, frozenset[str]] | None = None
) -> list[ShownPost]:
    """Rows of app.posts.queries.POST_COLUMNS, ready for the post list; ``marked``, the
    words of each post (by id) that a search found, to be shown in <mark>.

    The @names of all the posts are looked up at once (one query, none when no
    post names anyone): only a real user's name becomes a link.
    """
    urls = fixed_urls()
    marked = marked or {}
    rows = list(rows)
    named = [names_in(row.body) for row in rows]
    known_names = User.existing_names(frozenset().union(*named))
    return [
        # quote() is what |urlencode does to a name (see "profile_prefix" below).
        ShownPost(
            row.id,
            urls.post_prefix + str(row.id),
            body_html(
                row.body,
                names & known_names,
                urls.profile_prefix,
                urls.tag_prefix,
                marked.get(row.id, frozenset()),
            ),
            row.author,
            urls.profile_prefix + quote(row.author),
            avatar_url(row.email, 48),
            utc_time(row.timestamp),
            row.edited_at and utc_time(row.edited_at),
            row.deleted_at is not None,
            row.reply_count,
            row.reply_to_id and urls.post_prefix + str(row.reply_to_id),
            row.reply_to_author,
        )
        for row, names in zip(rows, named, strict=True)
    ]


class ShownPerson(NamedTuple):
    """A person as a list of people shows them, every value built once."""

    username: str
    url: str
    avatar: str
    about_me: str | None


def shown_people(rows: Iterable[Any]) -> list[ShownPerson]:
    """Rows of username, email and about_me, ready for a list of people."""
    prefix = fixed_urls().profile_prefix
    return [
        ShownPerson(
            row.username, prefix + quote(row.username), avatar_url(row.email, 48), row.about_me
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class FixedUrls:
    """The links that never change, as url_for and Bootstrap-Flask write them.

    Attributes, not a dict: Jinja looks ``urls.index`` up as an attribute first,
    and a dict would answer each of the layout's dozen lookups with a caught error.
    """

    index: str
    explore: str
    login: str
    register: str
    logout: str
    edit_profile: str
    reset_password_request: str
    search: str
    messages: str
    notifications: str
    # The poll of the unread counts (app.notifications.routes.unread).
    unread: str
    blocked: str
    # The footer's language selector (app.languages).
    choose_language: str
    # Usernames are URL-safe ([A-Za-z0-9_.-], see app/auth/forms.py); templates add
    # the name with |urlencode, which still quotes any other character.
    profile_prefix: str
    # A post's page and a tag's page: the id or the tag (quoted) follows.
    post_prefix: str
    tag_prefix: str
    # A conversation's page: the other person's name follows, as on a profile.
    conversation_prefix: str
    style_css: str
    favicon: str
    local_time_js: str
    post_counter_js: str
    unread_counts_js: str
    hover_cards_js: str
    bootstrap_css: Markup
    bootstrap_js: Markup


def build_fixed_urls() -> FixedUrls:
    return FixedUrls(
        index=url_for("main.index"),
        explore=url_for("main.explore"),
        login=url_for("auth.login"),
        register=url_for("auth.register"),
        logout=url_for("auth.logout"),
        edit_profile=url_for("account.edit_profile"),
        reset_password_request=url_for("auth.reset_password_request"),
        search=url_for("search.search"),
        messages=url_for("messages.conversations"),
        notifications=url_for("notifications.notifications"),
        unread=url_for("notifications.unread"),
        blocked=url_for("account.blocked"),
        choose_language=url_for("languages.choose_language"),
        profile_prefix=url_for("main.user", username="_")[:-1],
        post_prefix=url_for("posts.post", post_id=0)[:-1],
        tag_prefix=url_for("posts.tag", tag="_")[:-1],
        conversation_prefix=url_for("messages.conversation", username="_")[:-1],
        style_css=url_for("static", filename="style.css"),
        favicon=url_for("static", filename="favicon.svg"),
        local_time_js=url_for("static", filename="local-time.js"),
        post_counter_js=url_for("static", filename="post-counter.js"),
        unread_counts_js=url_for("static", filename="unread-counts.js"),
        hover_cards_js=url_for("static", filename="hover-cards.js"),
        bootstrap_css=bootstrap.load_css(),
        bootstrap_js=bootstrap.load_js(),
    )


def fixed_urls() -> FixedUrls:
    """The fixed links: built at the first request, then reused.

    The layout asked url_for for a dozen links on every page, each a walk through
    the URL map. They depend only on the app and the script root it is mounted at.
    """
    by_root = current_app.extensions.setdefault("fixed_urls", {})
    urls = by_root.get(request.script_root)
    if urls is None:
        urls = by_root[request.script_root] = build_fixed_urls()
    return urls


def unread_badge(count: int) -> str:
    """An unread count as the navigation bar shows it: counting stops at UNREAD_COUNTED."""
    return f"{UNREAD_COUNTED - 1}+" if count >= UNREAD_COUNTED else str(count)


def template_urls() -> dict[str, FixedUrls]:
    """``urls`` for every template."""
    return {"urls": fixed_urls()}


def init_app(app: Flask) -> None:
    app.context_processor(template_urls)
    app.add_template_filter(utc_time)
    app.add_template_filter(unread_badge)
    # The profile page's avatar, from its row (see main.routes.profile_row_or_404).
    app.add_template_global(avatar_url)
