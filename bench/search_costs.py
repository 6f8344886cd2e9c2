"""What the searches of the benchmark cost the database: the app's ranked statement, in-process.

    venv/bin/python -m bench.search_costs garden "coffee garden bench"

bench/run.py runs this in the servers' environment, on the seeded database, before
measuring. For each search: how many posts match (their share of all posts), and
the wall time of the statement that picks and ranks the newest 1,000 matches
(app.search.queries, with the parameters of a first page), median of 30 runs after
one. Worker CPU per request leaves out what a PostgreSQL server does: on
PostgreSQL it prints the statement's EXPLAIN ANALYZE too. Prints lines of text.
"""

import statistics
import sys
import time
from typing import Any

from sqlalchemy import Connection, TextClause, text

from app import create_app
from app.extensions import db
from app.search import queries
from app.search.query import fts5_query, parse, websearch_text

RUNS = 30
MATCHES = {
    "sqlite": "SELECT count(*) FROM post_search WHERE post_search MATCH :query",
    "postgresql": "SELECT count(*) FROM post WHERE deleted_at IS NULL"
    " AND search_vector @@ websearch_to_tsquery('english', :query)",
}


def median_ms(connection: Connection, statement: TextClause, params: dict[str, Any]) -> float:
    connection.execute(statement, params).all()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        connection.execute(statement, params).all()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def costs_of(words: str, connection: Connection, per_page: int) -> list[str]:
    """The lines about one search: its matches, its ranked statement's time (and plan)."""
    dialect = connection.dialect.name
    search = parse(words)
    query = fts5_query(search) if dialect == "sqlite" else websearch_text(search)
    ranked = queries.SQLITE_RANKED if dialect == "sqlite" else queries.POSTGRESQL_RANKED
    params = {
        "query": query,
        "candidates": queries.CANDIDATES,
        "page_limit": per_page + 1,
        "page_offset": 0,
    }
    posts = connection.scalar(text("SELECT count(*) FROM post"))
    matches = connection.scalar(text(MATCHES[dialect]), {"query": query})
    lines = [
        f"  {words!r}: matches {matches:,} of {posts:,} posts ({matches / posts:.1%}); "
        f"ranked statement {median_ms(connection, ranked, params):.2f} ms wall "
        f"(median of {RUNS}, in-process)"
    ]
    if dialect == "postgresql":
        explain = text(f"EXPLAIN (ANALYZE, BUFFERS) {ranked.text}")
        connection.execute(explain, params).all()  # warm, as the median's runs were
        lines += [f"    {line}" for line in connection.scalars(explain, params)]
    return lines


def main() -> None:
    app = create_app()
    with app.app_context(), db.engine.connect() as connection:
        per_page = app.config["POSTS_PER_PAGE"]
        print("search statements on the seeded database:")
        for words in sys.argv[1:]:
            print("\n".join(costs_of(words, connection, per_page)))


if __name__ == "__main__":
    main()
