"""The Microblog application factory."""

from flask import Flask
from flask_babel import gettext
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    account,
    account_data,
    api,
    auth,
    database,
    jobs,
    mail,
    main,
    messages,
    metrics,
    notifications,
    posts,
    reporting,
    search,
    templating,
)
from app.application import Microblog
from app.auth import password_reset, sessions
from app.errors import debugging, handlers
from app.extensions import bootstrap, csrf, db, login, migrate
from app.languages import setup as language_setup
from app.notifications import poll as unread_poll
from app.search import index as search_index
from app.security import headers, input_checks, rate_limits, secret_key
from config import Config

__all__ = ["create_app", "db"]


def create_app(config_class: type = Config) -> Flask:
    """A complete application configured by ``config_class``."""
    app = Microblog(__name__)
    app.config.from_object(config_class)
    secret_key.init_app(app)
    trust_proxies(app)

    # The one mail sender, first: error reports (reporting) go out through it too.
    mail.init_app(app)
    # Before-request hooks run in the order they are added, and that order matters:
    # the request id first (every later hook and log line carries it), then the
    # login cookies the site cannot have written are set aside (any page, error
    # pages included, loads the user), then the refusal of input no page can use,
    # then CSRF and the limiter's (from the extensions), then the app-wide hooks
    # of the blueprints (main's last-seen write).
    reporting.init_app(app)
    sessions.init_app(app)
    input_checks.init_app(app)
    register_extensions(app)
    register_blueprints(app)
    # After reporting: when reset links cannot work, the log says why at startup.
    password_reset.init_app(app)

    headers.init_app(app)
    templating.init_app(app)
    # Flask-Babel, the language selector and flask translate.
    language_setup.init_app(app)
    search_index.init_app(app)
    # The job queue, then the kinds of job the data pages run on it.
    jobs.init_app(app)
    account_data.init_app(app)
    # After reporting: the metrics count the work of its report sender too.
    metrics.init_app(app)
    # Last, around everything: the unread counts' poll is mostly answered before Flask.
    unread_poll.init_app(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Take the client's address, scheme and host from the TRUSTED_PROXIES in front."""
    count = app.config["TRUSTED_PROXIES"]
    if count > 0:
        # Every proxy appends the address it saw to X-Forwarded-For: the last
        # `count` entries are trustworthy, anything before them came from the
        # client. The proxy next to the app overwrites -Proto and -Host (see
        # deploy/nginx/microblog.conf), so exactly one value of each is expected.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=1, x_host=1)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    rate_limits.init_app(
        app, auth.bp, account.bp, main.bp, posts.bp, messages.bp, account_data.bp, *api.RESOURCES
    )
    bootstrap.init_app(app)
    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message = "Please log in to access this page."
    # Flask-Login flashes the message through this: in the reader's language.
    login.localize_callback = gettext
    login.login_message_category = "info"


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(main.bp)
    app.register_blueprint(posts.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(messages.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(account_data.bp)
    app.register_blueprint(handlers.bp)
    # Its own blueprints, its OpenAPI document and its documentation page.
    api.init_app(app)
    if app.debug:
        # Only where Werkzeug's debugger shows it: a way to see the debugger at work.
        app.register_blueprint(debugging.bp)
