"""The API's resources: posts and replies, edits with their version, profiles, follows,
the feed, Explore and search, each list read to its end by its ``next`` links."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post
from testkit.api_clients import assert_problem, bearer, obtain_token
from testkit.clients import make_user, run_together

pytestmark = pytest.mark.both_databases


@pytest.fixture
def token(client, alice):
    return obtain_token(client)


@pytest.fixture
def api(client, token):
    """Calls as alice: ``api("get", path, json=...)``."""

    def call(method: str, path: str, **kwargs):
        return client.open(path, method=method.upper(), headers=bearer(token), **kwargs)

    return call


def write(api, body: str, path: str = "/api/v1/posts") -> dict:
    response = api("post", path, json={"body": body})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def read_to_the_end(api, path: str) -> list[list[dict]]:
    """Every page of a list, following ``next`` until it is null."""
    pages = []
    while path:
        response = api("get", path)
        assert response.status_code == 200, response.get_data(as_text=True)
        listed = response.get_json()
        pages.append(listed["items"])
        path = listed["next"]
    return pages


def test_a_post_is_written_read_edited_and_deleted_by_its_version(api):
    post = write(api, "Hello #api world")
    assert post["body"] == "Hello #api world"
    assert (post["author"], post["version"], post["reply_to"], post["edited_at"]) == (
        "alice",
        1,
        None,
        None,
    )
    assert api("get", post["url"]).get_json() == post

    edited = api("patch", post["url"], json={"body": "Hello again", "version": 1})
    assert edited.status_code == 200
    assert edited.get_json()["version"] == 2 and edited.get_json()["edited_at"] is not None

    # A second client still holding version 1: refused, told the version now.
    conflict = assert_problem(api("patch", post["url"], json={"body": "Mine", "version": 1}), 409)
    assert conflict["type"] == "/api/v1/docs#problem-version-conflict"
    assert conflict["current_version"] == 2
    assert db.session.get(Post, post["id"]).body == "Hello again"
    assert_problem(api("delete", post["url"] + "?version=1"), 409)

    assert api("delete", post["url"] + "?version=2").status_code == 204
    gone = assert_problem(api("get", post["url"]), 404)
    assert gone["detail"] == "This post has been deleted."
    assert_problem(api("patch", post["url"], json={"body": "x", "version": 3}), 404)


def test_of_two_edits_of_one_version_at_once_exactly_one_is_saved(file_app):
    with file_app.app_context():
        make_user("alice")
    client = file_app.test_client()
    token = obtain_token(client)
    post_id = client.post("/api/v1/posts", headers=bearer(token), json={"body": "v1"}).get_json()[
        "id"
    ]

    def edit(number: int) -> int:
        change = {"body": f"edit {number}", "version": 1}
        answer = file_app.test_client().patch(
            f"/api/v1/posts/{post_id}", headers=bearer(token), json=change
        )
        return answer.status_code

    assert sorted(run_together(4, edit)) == [200, 409, 409, 409]


def test_only_its_author_changes_a_post(client, api, alice):
    post = write(api, "Alice's")
    make_user("bob")
    bobs = bearer(obtain_token(client, "bob"))
    for method, kwargs in [
        ("PATCH", {"json": {"body": "Bob's now", "version": 1}}),
        ("DELETE", {"query_string": {"version": 1}}),
    ]:
        refused = client.open(post["url"], method=method, headers=bobs, **kwargs)
        assert (
            assert_problem(refused, 403)["detail"]
            == "Only its author can change or delete a post."
        )
    assert db.session.get(Post, post["id"]).body == "Alice's"


def test_replies_are_listed_oldest_first_and_stay_when_the_post_goes(api):
    post = write(api, "A question")
    replies = [write(api, f"Answer {n}", post["url"] + "/replies") for n in range(5)]
    assert {reply["reply_to"] for reply in replies} == {post["id"]}
    assert api("get", post["url"]).get_json()["reply_count"] == 5
    pages = read_to_the_end(api, post["url"] + "/replies?limit=2")
    assert [[r["body"] for r in page] for page in pages] == [
        ["Answer 0", "Answer 1"],
        ["Answer 2", "Answer 3"],
        ["Answer 4"],
    ]
    api("delete", post["url"] + "?version=1")
    assert len(api("get", post["url"] + "/replies").get_json()["items"]) == 3  # POSTS_PER_PAGE
    assert_problem(api("post", post["url"] + "/replies", json={"body": "Late"}), 404)
    assert_problem(api("get", "/api/v1/posts/999999/replies"), 404)


def test_the_feed_shows_the_followed_and_pages_to_its_end(client, api, alice):
    make_user("bob")
    make_user("carol")
    with_bob = bearer(obtain_token(client, "bob"))
    with_carol = bearer(obtain_token(client, "carol"))
    for n in range(4):
        client.post("/api/v1/posts", headers=with_bob, json={"body": f"bob {n}"})
        client.post("/api/v1/posts", headers=with_carol, json={"body": f"carol {n}"})
    write(api, "alice 0")
    assert api("put", "/api/v1/users/bob/follow").status_code == 204
    assert api("put", "/api/v1/users/bob/follow").status_code == 204  # twice: no change
    pages = read_to_the_end(api, "/api/v1/feed")
    assert [[p["body"] for p in page] for page in pages] == [
        ["alice 0", "bob 3", "bob 2"],
        ["bob 1", "bob 0"],
    ]
    explore = [p["body"] for page in read_to_the_end(api, "/api/v1/explore?limit=4") for p in page]
    assert len(explore) == 9 and explore[0] == "alice 0" and explore[-1] == "bob 0"

    profile = api("get", "/api/v1/users/bob").get_json()
    assert (profile["followers_count"], profile["is_following"]) == (1, True)
    assert api("delete", "/api/v1/users/bob/follow").status_code == 204
    assert api("get", "/api/v1/users/BOB").get_json()["is_following"] is False
    assert [p["body"] for p in api("get", "/api/v1/feed").get_json()["items"]] == ["alice 0"]


def test_following_oneself_is_forbidden_and_a_missing_user_is_404(api):
    assert assert_problem(api("put", "/api/v1/users/alice/follow"), 403)["detail"] == (
        "You cannot follow or unfollow yourself."
    )
    for method, path in [
        ("put", "/api/v1/users/nobody/follow"),
        ("delete", "/api/v1/users/nobody/follow"),
        ("get", "/api/v1/users/nobody"),
        ("get", "/api/v1/users/nobody/followers"),
    ]:
        assert (
            assert_problem(api(method, path), 404)["detail"] == "There is no user with this name."
        )


def test_followers_and_following_page_by_name_to_the_end(client, api, alice):
    names = ["Zed", "amy", "Bea", "carl", "dan"]
    for name in names:
        make_user(name)
        client.put("/api/v1/users/alice/follow", headers=bearer(obtain_token(client, name)))
        api("put", f"/api/v1/users/{name}/follow")
    expected = sorted(names, key=str.lower)
    for listing in ("followers", "following"):
        pages = read_to_the_end(api, f"/api/v1/users/alice/{listing}?limit=2")
        assert [len(page) for page in pages] == [2, 2, 1]
        assert [person["username"] for page in pages for person in page] == expected
    first = api("get", "/api/v1/users/alice/followers").get_json()["items"][0]
    assert first["url"] == "/api/v1/users/amy"
    assert first["avatar_url"].startswith("https://www.gravatar.com/avatar/")


def test_a_users_posts_page_to_the_end(api, alice):
    for n in range(7):
        write(api, f"post {n}")
    pages = read_to_the_end(api, "/api/v1/users/alice/posts")
    assert [[p["body"] for p in page] for page in pages] == [
        ["post 6", "post 5", "post 4"],
        ["post 3", "post 2", "post 1"],
        ["post 0"],
    ]
    profile = api("get", "/api/v1/me").get_json()
    assert profile["posts_url"] == "/api/v1/users/alice/posts"


def test_a_cursor_naming_no_post_gives_an_empty_page(api):
    write(api, "only one")
    listed = api("get", "/api/v1/explore?after=424242").get_json()
    assert listed == {"items": [], "next": None}


def test_search_finds_people_and_posts_and_pages_on(api, alice):
    make_user("gardener")
    for n in range(4):
        write(api, f"My garden grows {n}")
    write(api, "Nothing to see")
    found = api("get", "/api/v1/search?q=garden").get_json()
    assert [person["username"] for person in found["people"]] == ["gardener"]
    assert len(found["items"]) == 3 and found["next"] == "/api/v1/search?q=garden&page=2"
    rest = api("get", found["next"]).get_json()
    assert (len(rest["items"]), rest["people"], rest["next"]) == (1, [], None)
    bodies = {p["body"] for p in found["items"] + rest["items"]}
    assert bodies == {f"My garden grows {n}" for n in range(4)}
    assert api("get", "/api/v1/search?q=").get_json() == {"people": [], "items": [], "next": None}
    assert api("get", "/api/v1/search?q=-garden").get_json()["items"] == []


def test_writes_share_the_sites_writing_allowance(client, app, api):
    app.config["RATELIMIT_WRITING"] = "2 per minute"
    write(api, "one")
    write(api, "two")
    problem = assert_problem(api("post", "/api/v1/posts", json={"body": "three"}), 429)
    assert (
        problem["detail"] == "You are posting faster than this site allows. Please wait a little."
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 2


def test_the_links_follow_the_path_the_site_is_mounted_at(api):
    # The links are built from prefixes made once per mount point (ApiUrls).
    write(api, "one")
    write(api, "two")
    mounted = {"SCRIPT_NAME": "/blog"}
    listed = api("get", "/api/v1/explore?limit=1", environ_overrides=mounted).get_json()
    assert listed["items"][0]["url"].startswith("/blog/api/v1/posts/")
    assert listed["items"][0]["html_url"].startswith("/blog/post/")
    assert listed["next"].startswith("/blog/api/v1/explore?after=")
    assert api("get", "/api/v1/explore").get_json()["items"][0]["url"].startswith("/api/v1/")
