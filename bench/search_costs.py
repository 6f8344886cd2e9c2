"""What the searches of the benchmark cost the database: the app's ranked statement, in-process.

    venv/bin/python -m bench.search_costs garden "coffee garden bench"

bench/run.py runs this in the servers' environment, on the seeded database, before
measuring. For each search: how many posts match (their share of all posts), and
the wall time of the ranking of the newest matches for a first page
(app.search.results: on SQLite the statement that finds them with their words
marked, and their ranking in Python; on PostgreSQL the ranked statement), median
of 30 runs after one. Worker CPU per request leaves out what a PostgreSQL server does: on
PostgreSQL it prints the statement's EXPLAIN ANALYZE too. Prints lines of text.
"""

import statistics
import sys
import time
from collections.abc import Callable

from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.search import queries, results
from app.search.query import parse

RUNS = 30
MATCHES = {
    "sqlite": "SELECT count(*) FROM post_search WHERE post_search MATCH :query",
    "postgresql": "SELECT count(*) FROM post WHERE deleted_at IS NULL"
    " AND search_vector @@ websearch_to_tsquery('english', :query)",
}


def median_ms(rank: Callable[[], object]) -> float:
    rank()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        rank()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def costs_of(words: str, per_page: int) -> list[str]:
    """The lines about one search: its matches, its ranking's time (and plan)."""
    dialect = db.session.get_bind().dialect.name
    spelled, ranked = results.BY_DIALECT[dialect]
    query = spelled(parse(words))
    posts = db.session.scalar(text("SELECT count(*) FROM post"))
    matches = db.session.scalar(text(MATCHES[dialect]), {"query": query})
    took = median_ms(lambda: ranked(query, 0, per_page + 1))
    lines = [
        f"  {words!r}: matches {matches:,} of {posts:,} posts ({matches / posts:.1%}); "
        f"ranking {took:.2f} ms wall (median of {RUNS}, in-process)"
    ]
    if dialect == "postgresql":
        params = {
            "query": query,
            "candidates": queries.CANDIDATES,
            "page_limit": per_page + 1,
            "page_offset": 0,
        }
        explain = text(f"EXPLAIN (ANALYZE, BUFFERS) {queries.POSTGRESQL_RANKED.text}")
        db.session.execute(explain, params).all()  # warm, as the median's runs were
        lines += [f"    {line}" for line in db.session.scalars(explain, params)]
    return lines


def main() -> None:
    app = create_app()
    with app.app_context():
        per_page = app.config["POSTS_PER_PAGE"]
        print("search statements on the seeded database:")
        for words in sys.argv[1:]:
            print("\n".join(costs_of(words, per_page)))


if __name__ == "__main__":
    main()
