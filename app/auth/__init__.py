"""Signing in: register, sign in, sign out, reset a forgotten password (blueprint "auth")."""

from app.auth.routes import bp

__all__ = ["bp"]
