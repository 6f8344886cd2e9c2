"""Deciding whether a ``next`` target keeps the user on this site."""

from urllib.parse import urlsplit

from flask import redirect, request
from werkzeug.wrappers import Response


def is_safe_redirect(target: str | None) -> bool:
    """True only for a plain path on this site, such as ``/user/bob?tab=posts``.

    Browsers forgive a lot: they strip tabs and newlines, read backslashes as
    slashes and treat ``//host`` or ``///host`` as another site. So anything with
    control characters or backslashes is refused outright, and what is left must
    be an absolute path with no scheme and no host.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def back_to_form_page_or(default: str) -> Response:
    """A redirect to the page a form names in its ``next`` field (a hover card's, the list
    of blocked people's), when that is a page of this site; otherwise to ``default``."""
    target = request.form.get("next")
    return redirect(target if is_safe_redirect(target) else default)
