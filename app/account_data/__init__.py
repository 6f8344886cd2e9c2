"""Your data: export it, or delete the account with all it owns (blueprint "account_data").

``owned`` is the one list of what an account owns; ``export`` and ``deletion``
are the two jobs (app.jobs) that read and remove it; ``races`` answers the
requests that race a deletion.
"""

from flask import Flask

from app.account_data import deletion, export, races
from app.account_data.routes import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """The two kinds of job, and the answers to requests racing a deletion."""
    jobs = app.extensions["jobs"]
    jobs.register(export.KIND)
    jobs.register(deletion.KIND)
    races.init_app(app)
