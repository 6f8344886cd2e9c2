"""Template filters for work done once per post on every page of posts.

Written in Python because a Jinja macro call costs several times as much, and a
page repeats these twenty times.
"""

from datetime import datetime

from flask import Flask
from markupsafe import Markup

from app.models import avatar_url


def utc_time(moment: datetime) -> Markup:
    """A <time> element in UTC; static/local-time.js rewrites it in the reader's zone."""
    machine = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = f"{machine[:10]} {machine[11:16]} UTC"
    # Only digits, dashes, colons, spaces and letters: nothing to escape.
    return Markup(f'<time datetime="{machine}" title="{shown}">{shown}</time>')  # noqa: S704


def init_app(app: Flask) -> None:
    app.add_template_filter(utc_time)
    # Posts on a page are plain rows (see main.routes.newest_posts), not User objects.
    app.add_template_global(avatar_url)
