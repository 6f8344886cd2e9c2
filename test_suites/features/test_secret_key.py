"""The secret key: production refuses a weak one, development works without one."""

import logging
import os
import secrets

import pytest

from config import Config, ConfigError
from testkit.services.production import run_python

WEAK_KEYS = {
    "": "SECRET_KEY is not set",
    "dev": "SECRET_KEY is a well-known placeholder",
    "you-will-never-guess": "SECRET_KEY is a well-known placeholder",
    "ChangeMe": "SECRET_KEY is a well-known placeholder",
    " changeme ": "SECRET_KEY is a well-known placeholder",
    "x" * 31: "SECRET_KEY is shorter than 32 characters",
    " " * 40: "SECRET_KEY is not set",
    "\tshort-key-padded-with-blanks\t\t\t\t\t": "SECRET_KEY is shorter than 32 characters",
}


def use_secret_key(monkeypatch, key: str) -> None:
    """Put ``key`` in the environment, where production's Config reads it."""
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", key)


@pytest.mark.parametrize(("key", "reason"), list(WEAK_KEYS.items()))
def test_production_refuses_a_weak_secret_key(make_app, monkeypatch, key, reason) -> None:
    use_secret_key(monkeypatch, key)
    with pytest.raises(ConfigError) as refused:
        make_app(Config, TESTING=False, DEBUG=False)
    message = str(refused.value)
    assert message.startswith(reason)
    assert 'python -c "import secrets; print(secrets.token_hex())"' in message
    if key.strip():
        assert key.strip() not in message  # the key itself is not echoed to logs


def test_production_accepts_a_generated_key(make_app, monkeypatch) -> None:
    use_secret_key(monkeypatch, secrets.token_hex())
    app = make_app(Config, TESTING=False, DEBUG=False, LOG_TO_STDOUT=True)
    assert len(app.secret_key) == 64


@pytest.mark.parametrize("key", ["", "dev", "x" * 31])
def test_starting_the_site_with_a_weak_key_exits_non_zero(tmp_path, key) -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "SECRET_KEY": key,  # set, even when empty, so that a .env cannot fill it in
        "DATABASE_URL": "sqlite://",
        "LOG_DIR": str(tmp_path),
    }
    finished = run_python(environment, "-c", "import microblog", timeout=60)
    assert finished.returncode != 0
    assert f"ConfigError: {WEAK_KEYS[key]}" in finished.stderr


def test_debug_mode_works_without_a_key_and_says_so(make_app, monkeypatch, caplog) -> None:
    use_secret_key(monkeypatch, "")
    with caplog.at_level(logging.WARNING):
        app = make_app(Config, DEBUG=True, TESTING=False)
    assert len(app.secret_key) == 64
    assert "SECRET_KEY is not set: using a random key for this process" in caplog.text
    other = make_app(Config, DEBUG=True, TESTING=False)
    assert other.secret_key != app.secret_key  # generated, never a fixed default


def test_debug_mode_warns_about_a_placeholder_key(make_app, monkeypatch, caplog) -> None:
    use_secret_key(monkeypatch, "dev")
    with caplog.at_level(logging.WARNING):
        app = make_app(Config, DEBUG=True, TESTING=False)
    assert app.secret_key == "dev"
    assert "SECRET_KEY is a well-known placeholder: acceptable in debug mode only" in caplog.text
