"""The statements of the search page, one set per backend, built once.

Posts: the newest ``candidates`` posts that match, ranked best first, then a page
of them, its matched words marked. The bound limits the ranking and the search:
on SQLite, FTS5 reads the words' entries back from the newest post, and the
candidates come with their words marked, ranked in Python (app.search.ranking);
on PostgreSQL the planner walks back from the newest post through the stored
vectors when the words are common, and reads the few matches from the GIN index
when they are rare, ranks them with ts_rank, and the page's words are marked by
a second statement (measured: docs/search.md).
People: names that contain the text, those that start with it first.
"""

from sqlalchemy import bindparam, func, select, text

from app.models import User

# Marks around the matched words in the text the database returns: control
# characters, which a post shows as they are (a post holding one is not marked).
START, STOP = "\x02", "\x03"
# Ten pages of results: the best among the 200 newest matches. A search costs what
# finding and ranking them does, however many posts there are (docs/search.md).
CANDIDATES = 200

SQLITE_CANDIDATES = text(
    "SELECT rowid AS id, highlight(post_search, 0, :start, :stop) AS marked FROM post_search"
    " WHERE post_search MATCH :query ORDER BY rowid DESC LIMIT :candidates"
)

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
# ts_headline's options: every match marked, between START and STOP.
HEADLINE_OPTIONS = f'HighlightAll=true, StartSel="{START}", StopSel="{STOP}"'

lower_name = func.lower(User.username)
PEOPLE = (
    select(User.username, User.email, User.about_me)
    .where(lower_name.like(bindparam("contains"), escape="\\"))
    .order_by(lower_name.like(bindparam("prefix"), escape="\\").desc(), lower_name)
    .limit(bindparam("people_limit"))
)
