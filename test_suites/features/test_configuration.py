"""Settings: each read from the environment, strictly, with a clear error for nonsense.

The settings of one feature are tested with it (password resets, rate limits,
Sentry, metrics, the secret key); these are the parsers and the settings of the
app as a whole.
"""

import pytest
import sqlalchemy as sa

from app.extensions import db
from config import Config, ConfigError, parse_bool, parse_database_url, parse_int


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("Yes", True), ("off", False), ("0", False)]
)
def test_booleans_are_parsed_strictly(raw, value):
    assert parse_bool("MAIL_USE_TLS", raw) is value


@pytest.mark.parametrize("raw", ["2", "enabled", "tru"])
def test_unclear_booleans_are_an_error(raw):
    with pytest.raises(ConfigError, match="MAIL_USE_TLS"):
        parse_bool("MAIL_USE_TLS", raw)


def test_numbers_are_parsed_with_a_clear_error():
    assert parse_int("MAIL_PORT", " 587 ") == 587
    with pytest.raises(ConfigError, match="MAIL_PORT='abc' is not a whole number"):
        parse_int("MAIL_PORT", "abc")


def test_settings_come_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("ADMINS", "ops@example.com, dev@example.com")
    monkeypatch.setenv("POSTS_PER_PAGE", "7")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/blog")
    app = make_app(Config, TESTING=True)
    assert app.config["MAIL_USE_TLS"] is True
    assert app.config["MAIL_PORT"] == 587
    assert app.config["ADMINS"] == ["ops@example.com", "dev@example.com"]
    assert app.config["POSTS_PER_PAGE"] == 7
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/blog"


def test_a_bad_setting_stops_the_app_from_starting(make_app, monkeypatch):
    monkeypatch.setenv("MAIL_USE_SSL", "maybe")
    with pytest.raises(ConfigError, match="MAIL_USE_SSL"):
        make_app(Config, TESTING=True)


def test_trusted_proxies_is_read_from_the_environment_strictly(make_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    assert make_app(Config, TESTING=True).config["TRUSTED_PROXIES"] == 1
    for raw, message in (("-1", "must be 0 or more"), ("one", "is not a whole number")):
        monkeypatch.setenv("TRUSTED_PROXIES", raw)
        with pytest.raises(ConfigError, match=f"TRUSTED_PROXIES={raw!r} {message}"):
            make_app(Config, TESTING=True)


def test_database_url_spellings():
    assert parse_database_url("DATABASE_URL", "postgresql://h/d") == "postgresql+psycopg://h/d"
    assert parse_database_url("DATABASE_URL", "sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_both_postgres_url_spellings_connect_through_psycopg_3(
    make_app, monkeypatch, postgres_server_url, scheme
):
    monkeypatch.setenv("DATABASE_URL", f"{scheme}://" + postgres_server_url.split("://", 1)[1])
    app = make_app(Config, TESTING=True)
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"
        assert db.session.scalar(sa.text("SELECT 1")) == 1
        db.session.remove()
        db.engine.dispose()
