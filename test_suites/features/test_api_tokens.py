"""API tokens: obtained with a password (HTTP Basic) or the account page, listed,
revoked, stored as hashes, ending at their expiry and with a password change."""

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.api.tokens import ApiToken, issue_token
from app.database import utcnow
from app.extensions import db
from testkit.api_clients import assert_problem, basic, bearer, obtain_token
from testkit.clients import PASSWORD, Auth, csrf_token, make_user, page_text, submit

pytestmark = pytest.mark.both_databases


@pytest.fixture
def bob(app):
    return make_user("bob")


def test_a_token_obtained_with_the_password_works_until_revoked(client, alice):
    response = client.post(
        "/api/v1/tokens", headers=basic(), json={"name": "my script", "expires_in_days": 7}
    )
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    issued = response.get_json()
    assert issued["name"] == "my script"
    assert issued["token"].startswith("mbt_") and len(issued["token"]) == 47
    token = issued["token"]

    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["username"] == "alice"
    listed = client.get("/api/v1/tokens", headers=bearer(token)).get_json()["items"]
    assert [(t["id"], t["name"], t["shown"], t["current"]) for t in listed] == [
        (issued["id"], "my script", token[:8], True)
    ]
    assert listed[0]["expires_at"] == issued["expires_at"]

    assert (
        client.delete(f"/api/v1/tokens/{issued['id']}", headers=bearer(token)).status_code == 204
    )
    problem = assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401)
    assert problem["detail"] == "The token is unknown, expired or revoked. Obtain a new one."


def test_the_database_keeps_only_the_tokens_sha256(client, alice):
    token = obtain_token(client)
    stored = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.shown == token[:8]
    columns = db.session.execute(sa.select(*ApiToken.__table__.columns)).one()
    assert token not in [str(value) for value in columns]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(password="wrong password"),
        basic("nobody"),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Bearer mbt_" + "x" * 43},
        basic("al\x00ice"),
    ],
    ids=["none", "wrong-password", "unknown-user", "garbled", "a-bearer-token", "nul"],
)
def test_no_token_without_the_right_password(client, alice, headers):
    problem = assert_problem(client.post("/api/v1/tokens", headers=headers), 401)
    assert problem["detail"] in (
        "Send your username and password with HTTP Basic authentication.",
        "Invalid username or password.",
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_a_wrong_password_is_challenged_for_basic_a_missing_token_for_bearer(client, alice):
    refused = client.post("/api/v1/tokens", headers=basic(password="nope"))
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="Microblog API"'
    missing = assert_problem(client.get("/api/v1/feed"), 401)
    assert missing["detail"].startswith("This call needs a token")
    assert client.get("/api/v1/feed").headers["WWW-Authenticate"] == 'Bearer realm="Microblog API"'


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_AUTH": "3 per minute"}])
def test_password_attempts_for_tokens_are_limited_as_sign_ins_are(client, alice):
    for _ in range(3):
        assert_problem(client.post("/api/v1/tokens", headers=basic(password="guess")), 401)
    problem = assert_problem(client.post("/api/v1/tokens", headers=basic()), 429)
    assert "Retry-After" in client.post("/api/v1/tokens", headers=basic()).headers
    assert problem["title"] == "Too Many Requests"


def test_an_expired_token_is_refused(client, alice):
    token = obtain_token(client, expires_in_days=1)
    db.session.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_a_password_change_ends_every_token(client, alice):
    token = obtain_token(client)
    auth = Auth(client)
    auth.login()
    changed = auth.change_password(PASSWORD, "a new passphrase, long enough for the rules")
    assert changed.status_code == 302, page_text(changed)
    assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_nobody_revokes_or_sees_another_users_tokens(client, alice, bob):
    alices = obtain_token(client)
    bobs = obtain_token(client, "bob")
    bobs_id = client.get("/api/v1/tokens", headers=bearer(bobs)).get_json()["items"][0]["id"]
    assert_problem(client.delete(f"/api/v1/tokens/{bobs_id}", headers=bearer(alices)), 404)
    assert_problem(client.delete(f"/api/v1/tokens/{2**40}", headers=bearer(alices)), 404)
    listed = client.get("/api/v1/tokens", headers=bearer(alices)).get_json()["items"]
    assert [t["id"] for t in listed] != [bobs_id]
    assert client.get("/api/v1/me", headers=bearer(bobs)).status_code == 200


@pytest.mark.parametrize(
    ("wanted", "field"),
    [
        ({"expires_in_days": "7"}, "expires_in_days"),
        ({"expires_in_days": 366}, "expires_in_days"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"scope": "all"}, "scope"),
    ],
)
def test_a_wrong_field_is_named_and_no_token_issued(client, alice, wanted, field):
    problem = assert_problem(client.post("/api/v1/tokens", headers=basic(), json=wanted), 422)
    assert problem["type"] == "/api/v1/docs#problem-invalid-request"
    assert [error["field"] for error in problem["errors"]] == [field]
    assert problem["detail"].startswith(f"{field}: ")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_a_user_has_at_most_50_live_tokens(client, alice):
    token = obtain_token(client)
    for number in range(49):
        issue_token(alice, f"token {number}", 30)
    db.session.commit()
    problem = assert_problem(client.post("/api/v1/tokens", headers=basic()), 409)
    assert "revoke one" in problem["detail"]
    token_id = client.get("/api/v1/tokens", headers=bearer(token)).get_json()["items"][-1]["id"]
    client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(token))
    assert client.post("/api/v1/tokens", headers=basic()).status_code == 201


def test_the_account_page_makes_shows_once_and_revokes_tokens(client, alice):
    Auth(client).login()
    assert 'href="/account/tokens"' in page_text(client.get("/edit_profile"))
    made = submit(client, "/account/tokens", {"name": "phone", "expires_in_days": "90"})
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token"[^>]*>(mbt_[^<]+)</code>', page_text(made)).group(1)
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.get_json()["username"] == "alice"
    stored = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert stored.expires_at - stored.created_at == timedelta(days=90)

    listing = page_text(client.get("/account/tokens"))
    assert token not in listing and f"{token[:8]}…" in listing
    revoked = submit(
        client, f"/account/tokens/{stored.id}/revoke", {}, form_page="/account/tokens"
    )
    assert revoked.status_code == 302
    assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_the_account_page_refuses_a_form_without_its_csrf_token(client, alice):
    Auth(client).login()
    response = client.post("/account/tokens", data={"name": "x", "expires_in_days": "7"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_the_account_page_says_what_is_wrong_with_the_form(client, alice):
    Auth(client).login()
    page = submit(client, "/account/tokens", {"name": "", "expires_in_days": "9999"})
    assert page.status_code == 200
    assert "Number must be between 1 and 365." in page_text(page)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert csrf_token(client, "/account/tokens")
