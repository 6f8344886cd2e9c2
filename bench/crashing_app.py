"""The real Microblog app plus one page that always fails, for the erroring scenario.

It exists only for the benchmark: the real app never gets a failing route.
"""

from app import create_app

CRASH_PATH = "/bench/crash"


class BenchFailure(RuntimeError):
    """Raised on purpose by the benchmark's failing page."""


def crash() -> str:
    raise BenchFailure("the benchmark's failing page failed, as it always does")


app = create_app()
app.add_url_rule(CRASH_PATH, "bench_crash", crash)
