"""The languages' one init_app: Flask-Babel, the selector, flask translate."""

from flask import Flask

from app.languages import catalogues, commands
from app.languages.catalogues import babel
from app.languages.routes import bp
from app.languages.selection import own_names, selected_language, template_language


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=selected_language)
    # {% trans %} blocks are written over several lines; their msgids are one line.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.extensions["language_names"] = own_names(app.config["LANGUAGES"])
    app.context_processor(template_language)
    app.register_blueprint(bp)
    app.cli.add_command(commands.translate)
    catalogues.init_app(app)
    catalogues.install_template_callables(app)
