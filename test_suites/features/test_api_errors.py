"""Every status under /api is problem details, a 500 is reported as any failure is, no
hostile request fails the API, and the document and its page are served."""

import json
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Post
from testkit.api_clients import assert_problem, basic, bearer, obtain_token
from testkit.apps import log_text
from testkit.clients import Auth, csrf_token, make_user
from testkit.services.smtp import body_of, context_of


@pytest.fixture
def token(client, alice):
    return obtain_token(client)


@pytest.fixture
def post_id(client, token):
    answer = client.post("/api/v1/posts", headers=bearer(token), json={"body": "Mine"})
    return answer.get_json()["id"]


def test_the_client_errors_are_problem_details(client, app, token, post_id):
    make_user("bob")
    bobs = bearer(obtain_token(client, "bob"))
    mine = bearer(token)
    cases = [
        (400, client.get("/api/v1/feed?limit=\x00", headers=mine)),
        (401, client.get("/api/v1/feed")),
        (403, client.delete(f"/api/v1/posts/{post_id}?version=1", headers=bobs)),
        (404, client.get("/api/v1/posts/999", headers=mine)),
        (404, client.get("/api/v1/no-such-thing")),
        (405, client.put("/api/v1/feed", headers=mine)),
        (
            409,
            client.patch(
                f"/api/v1/posts/{post_id}", headers=mine, json={"body": "x", "version": 7}
            ),
        ),
        (413, client.post("/api/v1/posts", headers=mine, json={"body": "x" * 2_000_000})),
        (415, client.post("/api/v1/posts", headers=mine, data={"body": "a form"})),
        (422, client.get("/api/v1/feed?limit=1000", headers=mine)),
    ]
    for status, response in cases:
        problem = assert_problem(response, status)
        assert problem["title"] and problem["detail"], problem
    assert set(cases[5][1].headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert assert_problem(cases[9][1], 422)["errors"] == [
        {
            "location": "query",
            "field": "limit",
            "detail": "Must be greater than or equal to 1 and less than or equal to 100.",
        }
    ]


def test_a_browser_asking_for_html_still_gets_problem_details(client):
    response = client.get("/api/v1/feed", headers={"Accept": "text/html"})
    assert_problem(response, 401)


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_API": "3 per minute"}])
def test_each_token_has_its_own_allowance_of_calls(client, alice, token):
    for _ in range(3):
        assert client.get("/api/v1/feed", headers=bearer(token)).status_code == 200
    refused = client.get("/api/v1/feed", headers=bearer(token))
    problem = assert_problem(refused, 429)
    assert problem["detail"].startswith("This token is calling the API faster")
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["X-RateLimit-Limit"] == "3"
    # Writes count too, and another token of the same user has its own allowance.
    assert_problem(client.post("/api/v1/posts", headers=bearer(token), json={"body": "x"}), 429)
    other = obtain_token(client)
    assert client.get("/api/v1/feed", headers=bearer(other)).status_code == 200


def test_a_cookie_session_is_no_authentication_for_the_api(client, alice, post_id):
    Auth(client).login()
    assert_problem(client.get("/api/v1/feed"), 401)
    # Not even with the session's CSRF token: only a bearer token writes.
    headers = {"X-CSRFToken": csrf_token(client, "/edit_profile")}
    assert_problem(client.post("/api/v1/posts", json={"body": "x"}, headers=headers), 401)
    assert_problem(client.delete(f"/api/v1/posts/{post_id}?version=1", headers=headers), 401)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 1


def test_a_bearer_call_needs_no_csrf_token(client, token):
    # The suite runs with CSRF protection on: the forms of the site need their token.
    assert client.post("/index", data={"body": "x"}).status_code == 400
    assert (
        client.post("/api/v1/posts", headers=bearer(token), json={"body": "x"}).status_code == 201
    )


@pytest.mark.both_databases
def test_hostile_bodies_and_values_never_fail_the_api(client, token, post_id):
    mine = bearer(token)
    nested = '{"body": ' * 5000 + '"ok"' + "}" * 5000
    hostile = [
        ("post", "/api/v1/posts", {"json": {"body": "nul \x00 here"}}, 400),
        ("post", "/api/v1/posts", {"json": {"body": "half \ud800 a pair"}}, 400),
        ("post", "/api/v1/posts", {"json": {"body": "ok", "extra": ["\x00"]}}, 400),
        ("post", "/api/v1/posts", {"data": '{"body": ', "content_type": "application/json"}, 400),
        (
            "post",
            "/api/v1/posts",
            {"data": nested, "content_type": "application/json"},
            400,
        ),
        ("post", "/api/v1/posts", {"json": ["body"]}, 422),
        ("post", "/api/v1/posts", {"json": {"body": "x" * 141}}, 422),
        ("post", "/api/v1/posts", {"json": {"body": "   "}}, 422),
        ("post", "/api/v1/posts", {"json": {"body": None}}, 422),
        ("patch", f"/api/v1/posts/{post_id}", {"json": {"body": "x", "version": 2**70}}, 422),
        ("patch", f"/api/v1/posts/{post_id}", {"json": {"body": "x", "version": 1.5}}, 422),
        ("patch", f"/api/v1/posts/{2**70}", {"json": {"body": "x", "version": 1}}, 404),
        ("get", f"/api/v1/posts/{2**63}", {}, 404),
        ("get", f"/api/v1/posts/{2**31}/replies", {}, 404),
        ("get", "/api/v1/explore?after=99999999999999999999", {}, 422),
        ("get", "/api/v1/explore?after=-1", {}, 422),
        ("get", "/api/v1/search?q=" + "x" * 201, {}, 422),
        ("get", '/api/v1/search?q="unclosed NEAR( * ^ OR -', {}, 200),
        ("get", "/api/v1/users/%25_%5C", {}, 404),
        ("delete", f"/api/v1/posts/{post_id}?version=abc", {}, 422),
        ("delete", f"/api/v1/tokens/{2**63}", {}, 404),
        ("get", "/api/v1/messages/%25_%5C", {}, 404),
        ("post", "/api/v1/messages/%25_%5C", {"json": {"body": "x"}}, 404),
        ("post", "/api/v1/messages/alice", {"json": {"body": "ok", "idempotency_key": "é"}}, 422),
        ("get", "/api/v1/messages?after=99999999999999999999", {}, 422),
        ("get", "/api/v1/notifications?after=-1", {}, 422),
        ("post", "/api/v1/notifications/read", {"json": {"up_to": 2**70}}, 422),
        ("put", "/api/v1/me/blocked/%25_%5C", {}, 404),
    ]
    for method, path, kwargs, status in hostile:
        response = client.open(path, method=method.upper(), headers=mine, **kwargs)
        assert response.status_code == status, (path, kwargs, response.get_data(as_text=True))
        assert response.mimetype == (
            "application/json" if status == 200 else "application/problem+json"
        )
    assert db.session.get(Post, post_id).body == "Mine"


def test_a_failure_in_the_api_is_logged_mailed_and_its_token_kept_out(smtp, make_app):
    app = make_app(mail_port=smtp.port)
    client = app.test_client()
    with app.app_context():
        make_user("alice")
    token = obtain_token(client)

    response = client.get("/api/v1/crash/", headers=bearer(token))
    problem = assert_problem(response, 500)
    assert problem["title"] == "Internal Server Error"
    assert "boom" not in response.get_data(as_text=True)

    [message] = smtp.inbox.wait_for(1)
    assert message["Subject"] == "Microblog Failure: DeliberateFailure at GET /api/v1/crash/"
    assert context_of(message)["Request id"] == problem["request_id"]
    assert token not in body_of(message)
    log = log_text(app)
    assert problem["request_id"] in log and 'raise DeliberateFailure("boom in the API")' in log
    assert token not in log


def test_a_failure_in_the_api_reaches_sentry_without_its_token(sentry, make_app):
    app = make_app(SENTRY_DSN=sentry.dsn)
    client = app.test_client()
    with app.app_context():
        make_user("alice")
    token = obtain_token(client)
    problem = assert_problem(client.get("/api/v1/crash/", headers=bearer(token)), 500)
    [event] = sentry.wait_for_events(1)
    assert event["tags"]["request_id"] == problem["request_id"]
    assert event["exception"]["values"][0]["value"] == "boom in the API"
    assert token not in json.dumps(event)


def test_the_openapi_document_and_its_page_are_served_by_the_site(client):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"] == "3.1.0"
    assert {"/api/v1/tokens", "/api/v1/feed", "/api/v1/posts/{post_id}"} <= set(spec["paths"])
    problem = spec["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(problem) == ["application/problem+json"]

    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for operation in (
        "PATCH /api/v1/posts/{post_id}",
        "POST /api/v1/tokens",
        "GET /api/v1/search",
    ):
        assert f"<code>{operation}</code>" in html
    assert 'id="problem-version-conflict"' in html and 'id="schema-post"' in html
    # Everything it loads is the site's own.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)


def test_the_spec_and_the_document_never_promise_a_status_the_api_cannot_send(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "default" in operation["responses"], (method, path)
            assert operation.get("security", spec["security"]), (method, path)
    assert basic()  # the helper the other tests use writes a Basic header
