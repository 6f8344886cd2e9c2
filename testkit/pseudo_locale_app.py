"""The production application offering the pseudo-locale too, for the browser suite.

gunicorn serves it as ``testkit.pseudo_locale_app:app`` beside ``microblog:app``, on the
same database; PSEUDO_CATALOGUE_DIR names the folder that holds the pseudo-locale's
catalogue (written by ``testkit.languages.write_pseudo_catalogue`` before the start),
and WTForms' messages in it: Flask-WTF reads WTForms' catalogues from that folder here,
so that its default messages ("This field is required.") are transformed too (in other
languages this app shows them in English).
"""

import os

import flask_wtf.i18n

from app import create_app
from config import Config
from testkit.languages import PSEUDO


class PseudoLocaleConfig(Config):
    LANGUAGES = (*Config.LANGUAGES, PSEUDO)
    # The app's own catalogues, then the pseudo-locale's.
    BABEL_TRANSLATION_DIRECTORIES = f"translations;{os.environ['PSEUDO_CATALOGUE_DIR']}"


flask_wtf.i18n.messages_path = lambda: os.environ["PSEUDO_CATALOGUE_DIR"]
app = create_app(PseudoLocaleConfig)
