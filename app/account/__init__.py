"""The account pages: profile editor, new password, signing out elsewhere (blueprint "account")."""

from app.account.routes import bp

__all__ = ["bp"]
