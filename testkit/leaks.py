"""A login that fails while it holds every kind of secret, for the no-leak tests.

The log file, the error email, the JSON lines and Sentry each promise that no
secret reaches them; each test lets this request fail and then looks for the
secrets it returns in what its channel wrote.
"""

from collections.abc import Callable

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from app.models import User
from testkit.clients import csrf_token, make_user

SECRET_PASSWORD = "hunter2-but-longer"
MAIL_PASSWORD = "mail-pa55word"  # the app under test must be made with it
BEARER_TOKEN = "bearer-token-value"


def crash_a_login(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    failing_check: Callable[[User, str], bool],
    path: str = "/login",
) -> tuple[TestResponse, list[str]]:
    """Log alice in at ``path`` while ``failing_check`` stands in for the password check.

    Returns the answer (a 500 once the check raises) and the secrets the request
    and the app held: the password, the secret key, the mail password, the CSRF
    token, the session cookie and a bearer token.
    """
    monkeypatch.setattr(User, "check_password", failing_check)
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    token = csrf_token(client, "/login")
    session_cookie = client.get_cookie("session").value
    response = client.post(
        path,
        data={"csrf_token": token, "username": "alice", "password": SECRET_PASSWORD},
        headers={"Authorization": f"Bearer {BEARER_TOKEN}"},
    )
    secrets = [SECRET_PASSWORD, app.secret_key, MAIL_PASSWORD, token, session_cookie]
    return response, [*secrets, BEARER_TOKEN]
