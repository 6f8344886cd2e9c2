"""The REST API under /api/v1: tokens, users, posts, the feed, Explore, search, messages,
notifications.

flask-smorest (``spec``) validates the requests with the views' schemas and
writes the OpenAPI 3.1 document from them (/api/v1/openapi.json); the site shows
it as a page of its own (``docs``). A call is authenticated by its bearer token
(``authentication``, ``tokens``), never by the browser's cookies; errors are
problem details (``problems``). The token pages of the account are ``account_pages``.

A new resource is one more module: its blueprint goes into ``RESOURCES`` below.
"""

from flask import Flask
from werkzeug.routing import UnicodeConverter

from app.api import (
    account_pages,
    docs,
    messages,
    notifications,
    posts,
    timelines,
    token_routes,
    users,
)
from app.api.schemas import text_parameter
from app.api.spec import SETTINGS, MicroblogApi, spec_options
from app.extensions import csrf
from app.security import input_checks

# The resources, in the order the document lists them.
RESOURCES = (token_routes.bp, users.bp, posts.bp, timelines.bp, messages.bp, notifications.bp)


def init_app(app: Flask) -> None:
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    api = MicroblogApi(app, spec_kwargs=spec_options())
    api.register_converter(UnicodeConverter, text_parameter)
    for blueprint in RESOURCES:
        # A call carries its token in a header that no other site can make a browser
        # send, and no cookie is read (app/api/authentication.py): no CSRF token.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    input_checks.accept_typed_json(app, *RESOURCES)
    app.extensions["microblog_api"] = api
    app.register_blueprint(docs.bp)
    app.register_blueprint(account_pages.bp)
