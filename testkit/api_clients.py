"""Calling the API as a client does: Basic for a token, then the token on every call."""

import base64

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from testkit.clients import PASSWORD

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "request_id"}


def basic(username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def obtain_token(client: FlaskClient, username: str = "alice", **wanted: object) -> str:
    response = client.post("/api/v1/tokens", headers=basic(username), json=wanted or None)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


def api_caller(client: FlaskClient, username: str):
    """Calls as ``username``, with a token of their own: ``call("get", path, json=...)``,
    with more ``headers`` if given."""
    token = bearer(obtain_token(client, username))

    def call(method: str, path: str, headers: dict[str, str] | None = None, **kwargs):
        headers = {**token, **(headers or {})}
        return client.open(path, method=method.upper(), headers=headers, **kwargs)

    return call


def assert_problem(response: TestResponse, status: int) -> dict[str, object]:
    """The response is problem details (RFC 9457) of ``status``; its members."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json(force=True)
    assert set(problem) >= PROBLEM_MEMBERS, problem
    assert problem["status"] == status
    assert problem["request_id"] == response.headers["X-Request-ID"]
    return problem
