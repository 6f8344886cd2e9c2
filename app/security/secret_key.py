"""The secret key: required in production, generated for development."""

import secrets

from flask import Flask

from config import ConfigError

MIN_SECRET_KEY_LENGTH = 32
# Keys copied from tutorials and templates; an attacker tries these first.
PLACEHOLDER_KEYS = {
    "dev",
    "development",
    "secret",
    "secret-key",
    "secret_key",
    "secretkey",
    "changeme",
    "change-me",
    "change_me",
    "you-will-never-guess",
    "your-secret-key",
    "your_secret_key",
    "super-secret",
    "supersecret",
    "default",
    "password",
    "test",
    "testing",
    "insecure",
    "not-a-secret",
}


def secret_key_problem(key: str | None) -> str | None:
    """Why ``key`` cannot sign production sessions, or None when it can."""
    if not key:
        return "SECRET_KEY is not set"
    if key.strip().lower() in PLACEHOLDER_KEYS:
        return "SECRET_KEY is a well-known placeholder"
    # Spaces around a key (a copy-paste slip) add no secrecy.
    if len(key.strip()) < MIN_SECRET_KEY_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


def init_app(app: Flask) -> None:
    """Refuse to start in production with a weak key; generate one for development."""
    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem is None:
        return
    if app.debug or app.testing:
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = secrets.token_hex(32)
            app.logger.warning(
                "SECRET_KEY is not set: using a random key for this process "
                "(sessions end when it restarts)"
            )
        elif app.debug:
            app.logger.warning("%s: acceptable in debug mode only", problem)
        return
    raise ConfigError(
        f"{problem}. Generate one with: "
        'python -c "import secrets; print(secrets.token_hex())" '
        "and set it in the environment or in .env"
    )
