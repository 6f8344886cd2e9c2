"""What a post's text holds (links, @names, #tags), and the post shown as HTML.

The stored post is the text its author wrote; its links, names and tags are found
again whenever it is read. linkify-it-py finds the links: it knows where a URL ends
(trailing punctuation, brackets, quotes), which is where regexes go wrong. Every
piece of text is escaped by markupsafe: the only markup in a shown post is the
<a> elements written below, around escaped text, with escaped addresses.
"""

import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote

from linkify_it import LinkifyIt
from markupsafe import Markup, escape

MAX_TAG_LENGTH = 64
SHORT_LINK_LENGTH = 32
# A few thousand posts of at most 140 characters, as parts and as HTML: a few megabytes.
BODIES_CACHED = 4096
LINK_REL = "nofollow ugc noopener"

TEXT, LINK, NAME, TAG = "text", "link", "name", "tag"

# http:// and https:// links only: no mailto:, ftp:, "//host" or bare "example.com".
_LINKS = LinkifyIt(
    schemas={"mailto:": None, "ftp:": None, "//": None},
    options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False},
)
# An @name spelled as usernames are (app/auth/forms.py), or a #tag of letters,
# digits and underscores; neither in the middle of a word or an email address.
_NAME_OR_TAG = re.compile(
    r"(?<![\w@#&])(?:@(?P<name>[A-Za-z0-9_.-]{3,64})(?![A-Za-z0-9_.-])|#(?P<tag>\w+))"
)


class Part(NamedTuple):
    """A piece of a post: its text as written, its kind, and what it points at."""

    text: str
    kind: str = TEXT
    # A link's URL; a name or tag lower-cased, as it is looked up.
    target: str = ""


@lru_cache(maxsize=BODIES_CACHED)
def parts_of(body: str) -> tuple[Part, ...]:
    """The post's text cut into plain text, links, @names and #tags, in order.

    Remembered for the most recently shown posts: the same posts are shown again
    and again (every reader's feed, every page view), and linkify's search is most
    of the cost of showing a post with a link (docs/performance.md).
    """
    if "@" not in body and "#" not in body and "://" not in body:
        return (Part(body),)
    parts: list[Part] = []
    position = 0
    for link in _links_in(body):
        parts += _names_and_tags(body[position : link.index])
        parts.append(Part(link.raw, LINK, link.url))
        position = link.last_index
    parts += _names_and_tags(body[position:])
    return tuple(parts)


def _links_in(body: str) -> list:
    # This test costs far less than linkify's search, which finds nothing without it.
    if "://" not in body:
        return []
    return _LINKS.match(body) or []


def _names_and_tags(text: str) -> list[Part]:
    parts = []
    position = 0
    for found in _NAME_OR_TAG.finditer(text):
        part = _name_or_tag(found)
        if part is None:
            continue
        parts.append(Part(text[position : found.start()]))
        parts.append(part)
        position = found.start() + len(part.text)
    parts.append(Part(text[position:]))
    return [part for part in parts if part.text]


def _name_or_tag(found: re.Match[str]) -> Part | None:
    name, tag = found["name"], found["tag"]
    if name is not None:
        # A sentence may end just after a name: "thanks @alice."
        name = name.rstrip(".")
        return Part("@" + name, NAME, name.lower()) if len(name) >= 3 else None
    # "#1" is a number, not a tag; lower-casing can lengthen a word ("İ" is two letters).
    if tag.isdigit() or len(tag.lower()) > MAX_TAG_LENGTH:
        return None
    return Part("#" + tag, TAG, tag.lower())


def hashtags_in(body: str) -> set[str]:
    """The post's tags, lower-cased: what its tag pages list it under."""
    return {part.target for part in parts_of(body) if part.kind == TAG}


def names_in(body: str) -> frozenset[str]:
    """The @names the post's text holds, lower-cased, whether users have them or not."""
    return frozenset(part.target for part in parts_of(body) if part.kind == NAME)


def shortened(url: str) -> str:
    """A link's text as shown: without its scheme and "www.", cut after a few words."""
    shown = url.split("://", 1)[-1].removeprefix("www.")
    if len(shown) > SHORT_LINK_LENGTH:
        shown = shown[: SHORT_LINK_LENGTH - 1] + "…"
    return shown


@lru_cache(maxsize=BODIES_CACHED)
def body_html(
    body: str,
    known_names: frozenset[str],
    profile_prefix: str,
    tag_prefix: str,
    marked: frozenset[str] = frozenset(),
) -> Markup:
    """The post as HTML: its links, its tags, and as links the ``known_names`` it names
    (the users among ``names_in(body)``); the ``marked`` words of its text (a search's
    matches) in <mark>.

    Remembered, as ``parts_of`` is: for one post the arguments change only when a
    user it names comes or goes.
    """
    html = []
    for text, kind, target in parts_of(body):
        if kind == LINK:
            html.append(
                f'<a href="{escape(target)}" rel="{LINK_REL}" title="{escape(target)}">'
                f"{escape(shortened(text))}</a>"
            )
        elif kind == NAME and target in known_names:
            html.append(f'<a href="{escape(profile_prefix + quote(target))}">{escape(text)}</a>')
        elif kind == TAG:
            html.append(f'<a href="{escape(tag_prefix + quote(target))}">{escape(text)}</a>')
        else:
            html.append(_marked(text, marked))
    # Every piece above is escaped text or an <a> or <mark> around escaped values.
    return Markup("".join(html))  # noqa: S704


def _marked(text: str, words: frozenset[str]) -> str:
    """``text`` escaped, with each whole-word occurrence of ``words`` in <mark>."""
    if not words:
        return escape(text)
    longest_first = sorted(map(re.escape, words), key=len, reverse=True)
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(longest_first)})(?!\w)")
    pieces, position = [], 0
    for found in pattern.finditer(text):
        pieces += [escape(text[position : found.start()]), "<mark>", escape(found[0]), "</mark>"]
        position = found.end()
    pieces.append(escape(text[position:]))
    return "".join(pieces)
