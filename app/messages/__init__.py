"""Private messages: the Messages page, a conversation, sending (blueprint "messages")."""

from app.messages.routes import bp

__all__ = ["bp"]
