"""The apps tests run: TestConfig, and the factory behind the fixtures in testkit.plugin."""

import logging
from pathlib import Path

from flask import Blueprint, Flask, has_app_context, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db
from config import Config
from testkit import crashing
from testkit.databases import SQLiteDatabase, TestDatabase, close_connections

ADMIN = "ops@example.com"


class TestConfig(Config):
    __test__ = False  # a configuration, not a class of tests
    TESTING = True
    SECRET_KEY = "a-test-only-secret-key-that-is-long-enough"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    POSTS_PER_PAGE = 3
    # Pin everything the environment could otherwise change under the tests.
    MAIL_SERVER = None
    ADMINS: list[str] = []
    SERVER_NAME = None
    LOG_FORMAT = "text"
    SENTRY_DSN = None
    # Rate limits stay on, as in production; each app counts on its own.
    RATELIMIT_ENABLED = True
    RATELIMIT_AUTH = "10 per minute"
    RATELIMIT_ACCOUNT = "20 per hour"
    RATELIMIT_PASSWORD_RESET = "5 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    SITE_URL = None
    PASSWORD_RESET_MINUTES = 30


class IsolatedRequestClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Flask reuses an app context that the test has pushed (the ``app`` fixture
    does), so ``flask.g`` and the database session would otherwise be shared
    between requests: Flask-Login caches the user in ``g``, and a second client
    would see the first client's user. Each request here runs in a fresh app
    context (fresh ``g``, its own database session); afterwards the test's own
    session forgets what it loaded, so the test reads what the request wrote.
    """

    def open(self, *args, **kwargs) -> TestResponse:
        if self.preserve_context:  # ``with client:`` keeps the request's context
            return super().open(*args, **kwargs)
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context() and db.session.registry.has():
            db.session.expire_all()
        return response


def build_app(config_class: type = TestConfig, **settings: object) -> Flask:
    """``create_app`` with ``settings`` laid over ``config_class``."""
    config = type("Config", (config_class,), settings)
    app = create_app(config)
    app.test_client_class = IsolatedRequestClient
    return app


# What the app believed about a request, for the tests of trusted proxies.
request_probe = Blueprint("request_probe", __name__)


@request_probe.route("/whoami")
def whoami() -> str:
    return f"{request.remote_addr} {request.scheme} {request.host}"


class ProductionLikeApps:
    """Builds apps as production runs them, then takes down what they started.

    Not testing and not debug unless a setting says so: log lines go to a log
    folder of the test's own, errors are mailed when asked, and the failing
    routes of ``testkit.crashing`` (under /crash/) plus /whoami are there.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.built: list[tuple[Flask, TestDatabase | None]] = []

    def __call__(
        self,
        config: type = TestConfig,
        *,
        mail_port: int | None = None,
        database: TestDatabase | None = None,
        **settings: object,
    ) -> Flask:
        """Build one app.

        The tables are made on ``database`` (a new in-memory SQLite database by
        default), unless the test names the database itself: with a
        SQLALCHEMY_DATABASE_URI setting (migrations build that schema), or with
        ``config=Config``, which reads everything from the environment as
        production does. ``mail_port`` mails reports to an SMTP server on
        127.0.0.1 (``smtp.port`` for the ``smtp`` fixture's: request ``smtp``
        before ``make_app``, so that the server outlives the apps' last reports).
        """
        names_its_database = "SQLALCHEMY_DATABASE_URI" in settings
        if names_its_database or not issubclass(config, TestConfig):
            if database is not None:
                raise ValueError("a database and a database URL or Config: choose one")
        elif database is None:
            database = SQLiteDatabase()
        defaults: dict[str, object] = {"TESTING": False, "LOG_DIR": str(self.log_dir)}
        if database is not None:
            defaults["SQLALCHEMY_DATABASE_URI"] = database.url()
        if mail_port is not None:
            defaults |= {
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": mail_port,
                "MAIL_TIMEOUT": 2,
                "ADMINS": [ADMIN],
            }
        app = build_app(config, **(defaults | settings))
        app.register_blueprint(crashing.bp)
        app.register_blueprint(crashing.api_bp)
        app.register_blueprint(request_probe)
        self.built.append((app, database))
        if database is not None:
            with app.app_context():
                database.reset()
        return app

    def close(self) -> None:
        """Stop the mail senders and Sentry, drop the tables, close connections and log files."""
        for app, database in self.built:
            # The jobs' thread first: a job it finishes may still send mail.
            app.extensions["jobs"].stop()
            sender = app.extensions.get("mail_sender")
            if sender:
                sender.stop()
            sentry_client = app.extensions.get("sentry")
            if sentry_client:
                stop_sentry(sentry_client)
            with app.app_context():
                if database is None:
                    close_connections()
                else:
                    database.release()
        logger = logging.getLogger("app")
        for handler in [h for h in logger.handlers if getattr(h, "microblog", False)]:
            logger.removeHandler(handler)
            handler.close()


def stop_sentry(client: object, timeout: float = 2) -> None:
    """Send what the Sentry SDK still holds, then leave the process without a client.

    sentry_sdk.init is process-wide: later tests must not report to this test's DSN,
    nor run every request through the SDK's middleware.
    """
    import sentry_sdk  # only ever reached when an app has loaded it

    client.close(timeout=timeout)  # type: ignore[attr-defined]
    if sentry_sdk.get_client() is client:
        sentry_sdk.get_global_scope().set_client(None)


def log_text(app: Flask) -> str:
    """Everything the app wrote to its log files, rotated ones included."""
    return "".join(path.read_text() for path in sorted(Path(app.config["LOG_DIR"]).glob("*.log*")))
