"""A post's page and replies, editing and deleting posts, hashtag pages (blueprint "posts")."""

from app.posts.routes import bp

__all__ = ["bp"]
