"""The statements of the search page, one set per backend, built once.

Posts: the newest ``candidates`` posts that match, ranked best first (bm25 on
SQLite, ts_rank on PostgreSQL), then a page of them. The bound limits the
ranking, not the search: finding the matches still reads every match on
PostgreSQL, and every entry of a word in all posts on SQLite, so a search costs
more as the posts that match grow (measured: docs/search.md).
People: names that contain the text, those that start with it first.
"""

from sqlalchemy import bindparam, func, select, text

from app.models import User

# Marks around the matched words in the text the database returns: control
# characters, which a post shows as they are (a post holding one is not marked).
START, STOP = "\x02", "\x03"
CANDIDATES = 1000

SQLITE_RANKED = text(
    "SELECT id FROM (SELECT rowid AS id, rank FROM post_search WHERE post_search MATCH :query"
    " ORDER BY rowid DESC LIMIT :candidates) ORDER BY rank, id DESC"
    " LIMIT :page_limit OFFSET :page_offset"
)
SQLITE_MARKED = text(
    "SELECT rowid AS id, highlight(post_search, 0, :start, :stop) AS marked FROM post_search"
    " WHERE post_search MATCH :query AND rowid IN :ids"
).bindparams(bindparam("ids", expanding=True))

# The config is the index's (app.search.index.TEXT_SEARCH_CONFIG), spelled out: the
# planner uses the index only for the very expression it was built on.
POSTGRESQL_RANKED = text(
    "SELECT id FROM (SELECT id, body FROM post WHERE deleted_at IS NULL"
    " AND to_tsvector('english', body) @@ websearch_to_tsquery('english', :query)"
    " ORDER BY id DESC LIMIT :candidates) AS found"
    " ORDER BY ts_rank(to_tsvector('english', body), websearch_to_tsquery('english', :query))"
    " DESC, id DESC LIMIT :page_limit OFFSET :page_offset"
)
POSTGRESQL_MARKED = text(
    "SELECT id, ts_headline('english', body, websearch_to_tsquery('english', :query), :options)"
    " AS marked FROM post WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))
# The values of the marking statements' parameters (each uses those it names).
MARKS = {
    "start": START,
    "stop": STOP,
    "options": f'HighlightAll=true, StartSel="{START}", StopSel="{STOP}"',
}

lower_name = func.lower(User.username)
PEOPLE = (
    select(User.username, User.email, User.about_me)
    .where(lower_name.like(bindparam("contains"), escape="\\"))
    .order_by(lower_name.like(bindparam("prefix"), escape="\\").desc(), lower_name)
    .limit(bindparam("people_limit"))
)
