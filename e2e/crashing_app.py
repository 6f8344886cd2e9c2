"""The real application plus one route that fails, to show the 500 page in a browser.

Test-only: gunicorn serves it as ``e2e.crashing_app:app`` next to ``microblog:app``.
"""

from microblog import app

CRASH_PATH = "/e2e/crash"


def crash() -> str:
    raise RuntimeError("a deliberate failure for the browser tests")


app.add_url_rule(CRASH_PATH, "e2e_crash", crash)
