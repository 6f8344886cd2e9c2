"""Accounts: register, sign in, sign out, change the password (blueprint "auth")."""

from app.auth.routes import bp

__all__ = ["bp"]
