"""The statements of the search page, one set per backend, built once.

Posts: the newest ``candidates`` posts that match, ranked best first (bm25 on
SQLite, ts_rank on PostgreSQL), then a page of them, then the matched words of
that page marked. The bound limits the ranking, and on PostgreSQL the search too:
the planner walks back from the newest post through the stored vectors when the
words are common, and reads the few matches from the GIN index when they are rare.
SQLite's bm25 counts every post that holds each word of the search (its weights),
so a search there costs more as the posts holding its words grow (measured:
docs/search.md).
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
# FTS5 takes the range of rowids, not the list: the range keeps the search to the
# candidates (without it, MATCH reads the whole index again); the list then picks the
# page's posts, and highlight() runs for those only.
SQLITE_MARKED = text(
    "SELECT rowid AS id, highlight(post_search, 0, :start, :stop) AS marked FROM post_search"
    " WHERE post_search MATCH :query AND rowid BETWEEN :lowest AND :highest AND rowid IN :ids"
).bindparams(bindparam("ids", expanding=True))

# The config is the index's (app.search.index), spelled out: a tsquery must be parsed
# as the vectors were.
POSTGRESQL_RANKED = text(
    "SELECT id FROM (SELECT id, search_vector, query"
    " FROM post, websearch_to_tsquery('english', :query) AS query"
    " WHERE deleted_at IS NULL AND search_vector @@ query"
    " ORDER BY id DESC LIMIT :candidates) AS found"
    " ORDER BY ts_rank(search_vector, query) DESC, id DESC LIMIT :page_limit OFFSET :page_offset"
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
