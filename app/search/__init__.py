"""Search: people by name and posts by their words (blueprint "search")."""

from app.search.routes import bp

__all__ = ["bp"]
