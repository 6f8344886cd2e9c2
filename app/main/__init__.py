"""The pages: home, profiles, the profile editor (blueprint "main")."""

from app.main.routes import bp

__all__ = ["bp"]
