"""What every template may use: the <time> filter and Gravatar avatars."""

from datetime import datetime

from flask import Flask
from markupsafe import Markup

from app.models import avatar_url


def utc_time(moment: datetime) -> Markup:
    """A <time> element in UTC; static/local-time.js rewrites it in the reader's zone."""
    # isoformat() writes every year with four digits (strftime's %Y does not, before 1000).
    machine = moment.isoformat(timespec="seconds")[:19] + "Z"
    shown = f"{machine[:10]} {machine[11:16]} UTC"
    # Only digits, dashes, colons, spaces and letters: nothing to escape.
    return Markup(f'<time datetime="{machine}" title="{shown}">{shown}</time>')  # noqa: S704


def init_app(app: Flask) -> None:
    app.add_template_filter(utc_time)
    # Lists show rows of what a page reads (app.main.queries), not User objects.
    app.add_template_global(avatar_url)
