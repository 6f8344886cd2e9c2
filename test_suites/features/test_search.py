"""Search: people by name, posts by their words, on both databases; hostile queries."""

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post
from app.search import queries
from app.search.query import fts5_query, parse
from testkit.clients import make_user, page_text, post_bodies, submit


def publish(author, *bodies: str) -> list[int]:
    ids = [Post.publish(body, author.id).id for body in bodies]
    db.session.commit()
    return ids


def results(client, text: str, **params) -> list[str]:
    response = client.get("/search", query_string={"q": text, **params})
    assert response.status_code == 200, page_text(response)
    return post_bodies(response)


@pytest.fixture
def writer(app):
    return make_user("writer")


@pytest.mark.both_databases
def test_words_phrases_exclusions_and_or_find_the_same_posts_on_both_databases(client, writer):
    publish(
        writer,
        "The garden is blooming",
        "A blooming mess in the kitchen",
        "Garden party on Sunday",
        "Kitchen garden tips",
    )
    assert sorted(results(client, "garden")) == sorted(
        ["The garden is blooming", "Garden party on Sunday", "Kitchen garden tips"]
    )
    assert results(client, "garden blooming") == ["The garden is blooming"]
    assert results(client, '"kitchen garden"') == ["Kitchen garden tips"]
    assert sorted(results(client, "garden -kitchen")) == sorted(
        ["The garden is blooming", "Garden party on Sunday"]
    )
    assert sorted(results(client, "party OR mess")) == sorted(
        ["Garden party on Sunday", "A blooming mess in the kitchen"]
    )
    # English stemming on both: "blooms" finds "blooming".
    assert len(results(client, "blooms")) == 2


@pytest.mark.both_databases
def test_matched_words_are_highlighted_and_the_rest_escaped(client, writer):
    publish(writer, "<b>Bold</b> claims about gardens & <script>")
    response = client.get("/search?q=gardens")
    page = page_text(response)
    assert "<mark>gardens</mark>" in page
    assert "&lt;b&gt;Bold&lt;/b&gt; claims" in page and "&lt;script&gt;" in page


@pytest.mark.both_databases
def test_found_posts_keep_their_links_names_and_tags(client, writer):
    make_user("omar")
    publish(writer, "Seed list for @omar at https://example.org/seed-swap/list.html #seedswap")
    page = page_text(client.get("/search?q=seed"))
    assert "<mark>Seed</mark> list for" in page
    assert '<a href="/user/omar">@omar</a>' in page
    assert '<a href="https://example.org/seed-swap/list.html" rel="nofollow ugc noopener"' in page
    assert '<a href="/tag/seedswap">#seedswap</a>' in page


@pytest.mark.both_databases
def test_best_matches_come_first(client, writer):
    publish(writer, "flask once", "flask flask flask, all about flask", "nothing here")
    assert results(client, "flask")[0] == "flask flask flask, all about flask"


@pytest.mark.both_databases
def test_edits_and_deletions_are_reflected_at_once(client, writer, auth):
    [post_id] = publish(writer, "Original words")
    auth.login("writer")
    post = db.session.get(Post, post_id)
    assert post.edit("Replacement words", post.version)
    db.session.commit()
    assert results(client, "original") == []
    assert results(client, "replacement") == ["Replacement words"]
    post = db.session.get(Post, post_id)
    assert post.delete(post.version)
    db.session.commit()
    assert results(client, "replacement") == []


@pytest.mark.both_databases
def test_people_are_found_by_name_prefix_matches_first(client, writer):
    for name in ("bob", "bobby", "jimbob", "alice"):
        make_user(name)
    page = page_text(client.get("/search?q=bob"))
    found = re.findall(r'href="/user/([^"]+)">\1</a>', page)
    assert found == ["bob", "bobby", "jimbob"]
    assert re.findall(r'href="/user/([^"]+)">\1</a>', page_text(client.get("/search?q=@ali"))) == [
        "alice"
    ]


def test_the_empty_search_shows_the_empty_search_page(client):
    for path in ("/search", "/search?q=", "/search?q=%20%20"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Words to find" in page_text(response)
        assert "No posts match." not in page_text(response)


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced',
        'un"balanced"quotes"',
        "NEAR(",
        "NEAR(a b, 2)",
        "garden*",
        "*",
        "body:garden",
        "post_search:x",
        "{body}: x",
        "^garden",
        "a AND OR NOT b",
        "OR",
        "- -",
        "-garden",
        "((((",
        ")",
        "!!!???...",
        "'; DROP TABLE post; --",
        "\u202egarden",
        "🌱 garden",
        "x" * 200,
        "garden " * 28,
        "rank",
        "\\",
        "%_%",
    ],
)
def test_hostile_queries_give_a_results_page(client, writer, text):
    publish(writer, "A garden post")
    response = client.get("/search", query_string={"q": text})
    assert response.status_code == 200, text
    assert response.status_code < 500


@pytest.mark.parametrize(
    ("query", "status"),
    [("x" * 201, 400), ("x" * 10_000, 400), ("%00", 400), ("%ED%A0%80", 200), ("%FF%FE", 200)],
)
def test_queries_too_long_or_unusable_are_refused_and_bad_bytes_read_as_text(
    client, query, status
):
    response = client.get(f"/search?q={query}")
    assert response.status_code == status
    if len(query) > 200:
        assert "Search for at most 200 characters." in page_text(response)


@pytest.mark.both_databases
def test_results_are_read_page_by_page(client, writer, app):
    bodies = [f"seed number {n}" for n in range(7)]
    publish(writer, *bodies)
    seen, page = [], 1
    while True:
        response = client.get("/search", query_string={"q": "seed", "page": page})
        if response.status_code == 404:
            break
        seen += post_bodies(response)
        page += 1
    assert sorted(seen) == sorted(bodies)


@pytest.mark.both_databases
def test_only_the_newest_matches_are_ranked_and_shown(client, writer, monkeypatch):
    monkeypatch.setattr(queries, "CANDIDATES", 3)
    publish(writer, "seed one", "seed two", "seed seed seed", "seed six", "seed ten")
    # The three newest matches, the one with the word three times first; none older.
    assert results(client, "seed") == ["seed seed seed", "seed ten", "seed six"]


def test_the_navigation_bar_has_the_search_box(client):
    page = page_text(client.get("/explore"))
    assert re.search(r'<form[^>]*role="search"[^>]*action="/search"', page)
    assert 'name="q"' in page


@pytest.mark.both_databases
def test_posts_written_through_the_site_are_found(client, logged_in):
    submit(client, "/index", {"body": "Searchable through the form"})
    assert results(client, "searchable") == ["Searchable through the form"]


def test_every_fts5_operator_reaches_fts5_as_text():
    for text in ("NEAR(a b)", "a* OR b", "col:x", "^x", '"a" + "b"', "a AND b NOT c"):
        expression = fts5_query(parse(text)) if not parse(text).is_empty else ""
        # Every word is inside double quotes; outside them only AND, OR, NOT and brackets.
        outside = re.sub(r'"[^"]*"', "", expression)
        assert set(outside.split()) <= {"AND", "OR", "NOT", "(", ")"} | set("()"), expression
        assert quote(text)  # a query string a browser can send


# --- The index's life: migration 0007 and the rebuild command ---------------------------------


@pytest.mark.both_databases
def test_migration_0007_indexes_existing_posts_and_downgrades(make_app, empty_database_url):
    from flask_migrate import downgrade, upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    client = app.test_client()
    with app.app_context():
        upgrade(revision="0006")
        author = make_user("writer")
        author_id = author.id
        publish(author, "Written before the search existed", "Another old post")
        db.session.remove()

        upgrade()
        assert results(client, "existed") == ["Written before the search existed"]
        publish(db.session.get(type(author), author_id), "Written after it")
        assert results(client, "written") and len(results(client, "written")) == 2
        db.session.remove()

        downgrade(revision="0006")
        names = set(sa.inspect(db.engine).get_table_names())
        indexes = {index["name"] for index in sa.inspect(db.engine).get_indexes("post")}
        assert "post_search" not in names and "ix_post_body_search" not in indexes
        db.engine.dispose()


@pytest.mark.both_databases
def test_migration_0008_gives_postgresql_a_stored_vector_and_takes_it_back(
    make_app, empty_database_url
):
    from flask_migrate import downgrade, upgrade

    def search_columns_and_indexes() -> set[str]:
        inspector = sa.inspect(db.engine)
        names = {column["name"] for column in inspector.get_columns("post")}
        names |= {index["name"] for index in inspector.get_indexes("post")}
        return names & {"search_vector", "ix_post_search_vector", "ix_post_body_search"}

    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    client = app.test_client()
    on_postgresql = empty_database_url.startswith("postgresql")
    with app.app_context():
        upgrade(revision="0007")
        publish(make_user("writer"), "Indexed before the vector column")
        db.session.remove()

        upgrade(revision="0008")
        assert results(client, "column") == ["Indexed before the vector column"]
        assert search_columns_and_indexes() == (
            {"search_vector", "ix_post_search_vector"} if on_postgresql else set()
        )
        db.session.remove()

        downgrade(revision="0007")
        assert search_columns_and_indexes() == (
            {"ix_post_body_search"} if on_postgresql else set()
        )
        db.engine.dispose()


@pytest.mark.both_databases
def test_flask_search_rebuild_indexes_every_post_again(app, client, writer):
    publish(writer, "Lost from the index")
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "INSERT INTO post_search (post_search) VALUES ('delete-all')"
            )
    if db.engine.dialect.name == "sqlite":
        assert results(client, "lost") == []
    result = app.test_cli_runner().invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "The search index was rebuilt from every post." in result.output
    assert results(client, "lost") == ["Lost from the index"]
