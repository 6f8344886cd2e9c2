"""Notifications: their page, and the unread counts' poll (blueprint "notifications")."""

from app.notifications.routes import bp

__all__ = ["bp"]
