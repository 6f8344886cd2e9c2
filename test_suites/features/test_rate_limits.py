"""Rate limits on the password forms (login, registration, password change), per client."""

import inspect
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from limits.errors import StorageError

from app.extensions import db, limiter
from app.models import User
from app.security import rate_limits
from app.security.rate_limits import warn_if_counted_per_process
from config import Config, ConfigError
from testkit.apps import log_text
from testkit.clients import (
    NEW_PASSWORD,
    PASSWORD,
    Auth,
    assert_security_headers,
    csrf_token,
    is_logged_in,
    make_user,
    page_text,
)
from testkit.services.processes import free_port, wait_until


def exhaust(client, path: str, data: dict[str, str], attempts: int = 10, **kwargs) -> None:
    """Spend the allowance: ``attempts`` POSTs that are all answered normally."""
    for _ in range(attempts):
        assert client.post(path, data=data, **kwargs).status_code != 429


def bad_login(client) -> dict[str, str]:
    # An empty password: refused by the form without the cost of a password hash,
    # and counted all the same.
    return {"csrf_token": csrf_token(client), "username": "alice", "password": ""}


def test_the_eleventh_login_attempt_in_a_minute_gets_the_429_page(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data)
    response = client.post("/login", data=data)
    assert response.status_code == 429
    page = page_text(response)
    assert "Please wait a moment" in page
    assert "Too many attempts from your address." in page
    assert 'class="navbar' in page  # the site's layout
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert_security_headers(response)
    # The right password does not get through either until the window ends.
    assert Auth(client).login().status_code == 429


def test_json_clients_get_a_json_429_with_retry_after(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data)
    response = client.post("/login", data=data, headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.get_json()["error"] == "Too Many Requests"
    assert int(response.headers["Retry-After"]) > 0


def test_get_is_never_limited(client, alice) -> None:
    for _ in range(12):
        assert client.get("/login").status_code == 200
        assert client.get("/register").status_code == 200
    data = bad_login(client)
    exhaust(client, "/login", data)  # the GETs took nothing from the allowance
    assert client.post("/login", data=data).status_code == 429
    assert client.get("/login").status_code == 200
    assert client.get("/register").status_code == 200


def test_registration_is_limited(client) -> None:
    token = csrf_token(client, "/register")
    refused = {"csrf_token": token, "username": "x", "email": "x", "password": "p"}
    exhaust(client, "/register", refused)
    response = Auth(client).register("bob")
    assert response.status_code == 429
    assert db.session.scalar(sa.select(User)) is None


def test_password_change_is_limited(client, auth, logged_in) -> None:
    token = csrf_token(client, "/edit_profile")  # the password form's token too
    guess = {"password-csrf_token": token, "password-current_password": "guess"}
    exhaust(client, "/change_password", guess)
    before = logged_in.password_hash
    assert auth.change_password(PASSWORD, NEW_PASSWORD).status_code == 429
    db.session.refresh(logged_in)
    assert logged_in.password_hash == before


def test_limits_count_per_client_address(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    blocked = client.post("/login", data=data, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert blocked.status_code == 429
    other = client.post("/login", data=data, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_counts_do_not_leak_between_apps(alice, client, make_app) -> None:
    exhaust(client, "/login", bad_login(client))
    assert client.post("/login", data=bad_login(client)).status_code == 429
    other = make_app().test_client()
    assert other.post("/login", data=bad_login(other)).status_code == 200


def test_a_forged_x_forwarded_for_does_not_escape_the_limit(client, alice) -> None:
    # No proxy is trusted by default: the header is the client's own invention.
    data = bad_login(client)
    for n in range(10):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert client.post("/login", data=data, headers=forged).status_code != 429
    forged = {"X-Forwarded-For": "198.51.100.99"}
    assert client.post("/login", data=data, headers=forged).status_code == 429


@pytest.mark.parametrize("app_settings", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_proxy_the_address_it_saw_is_limited(client, alice) -> None:
    # The client prepends whatever it likes; the trusted proxy appends the real
    # address, and that is the one counted.
    data = bad_login(client)
    for n in range(10):
        chain = {"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.5"}
        assert client.post("/login", data=data, headers=chain).status_code != 429
    chain = {"X-Forwarded-For": "198.51.100.99, 203.0.113.5"}
    assert client.post("/login", data=data, headers=chain).status_code == 429
    another = {"X-Forwarded-For": "203.0.113.6"}
    assert client.post("/login", data=data, headers=another).status_code == 200


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_AUTH": "2 per minute"}])
def test_the_limit_is_configurable(client, alice) -> None:
    data = bad_login(client)
    exhaust(client, "/login", data, attempts=2)
    assert client.post("/login", data=data).status_code == 429


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": False}])
def test_limits_can_be_switched_off(client, alice) -> None:
    exhaust(client, "/login", bad_login(client), attempts=15)


def test_rate_limit_settings_come_from_the_environment(make_app, monkeypatch) -> None:
    monkeypatch.setenv("RATELIMIT_AUTH", "5/minute;100/day")
    monkeypatch.setenv("RATELIMIT_ACCOUNT", "50 per day")
    monkeypatch.setenv("RATELIMIT_ENABLED", "off")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    app = make_app(Config, TESTING=True)
    assert app.config["RATELIMIT_AUTH"] == "5/minute;100/day"
    assert app.config["RATELIMIT_ACCOUNT"] == "50 per day"
    assert app.config["RATELIMIT_ENABLED"] is False
    assert Config.RATELIMIT_STORAGE_URI == "memory://"


@pytest.mark.parametrize("setting", ["RATELIMIT_AUTH", "RATELIMIT_ACCOUNT"])
@pytest.mark.parametrize("raw", ["ten per minute", "10 per fortnight", "lots"])
def test_an_unreadable_rate_limit_stops_the_app_from_starting(
    make_app, monkeypatch, raw, setting
) -> None:
    monkeypatch.setenv(setting, raw)
    with pytest.raises(ConfigError, match=setting):
        make_app(Config, TESTING=True)


# --- Per account: many addresses cannot guess one password --------------------------------


WRONG_PASSWORD = "wrong password!"


def login_from(client, address: str, username: str = "alice", password: str = WRONG_PASSWORD):
    return client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def answer_of(response) -> tuple[int, str]:
    return response.status_code, response.headers.get("Location", "")


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ACCOUNT": "3 per 2 seconds"}])
def test_a_locked_account_answers_as_a_wrong_password_does_then_opens_again(client, alice):
    wrong = [login_from(client, f"203.0.113.{n}") for n in range(3)]
    assert {answer_of(response) for response in wrong} == {(302, "/login")}
    # From yet another address, in another case, with the right password: locked.
    locked = login_from(client, "198.51.100.1", "ALICE", PASSWORD)
    assert answer_of(locked) == answer_of(wrong[0])
    assert "Invalid username or password" in page_text(client.get("/login"))
    assert not is_logged_in(client)
    # Another account is not affected.
    make_user("bob")
    assert login_from(client, "198.51.100.2", "bob", PASSWORD).headers["Location"] == "/index"
    Auth(client).logout()
    # Once the window has passed, the owner gets in.
    opened = wait_until(
        lambda: (
            login_from(client, "198.51.100.3", "alice", PASSWORD).headers["Location"] == "/index"
        ),
        10,
        interval=0.5,
    )
    assert opened


@pytest.mark.parametrize(
    "app_settings", [{"RATELIMIT_ACCOUNT": "2 per minute", "RATELIMIT_ENABLED": False}]
)
def test_switching_limits_off_switches_the_account_limit_off_too(client, alice):
    for n in range(3):
        login_from(client, f"203.0.113.{n}")
    assert login_from(client, "198.51.100.1", password=PASSWORD).headers["Location"] == "/index"


def test_an_account_attempt_that_cannot_be_counted_is_let_through_with_a_warning(
    make_app, monkeypatch
):
    app = make_app()
    with app.app_context():
        make_user("alice")

    def unreachable(*args, **kwargs):
        raise StorageError(ConnectionError("storage went away"))

    monkeypatch.setattr(
        rate_limits, "limiter", SimpleNamespace(limiter=SimpleNamespace(hit=unreachable))
    )
    client = app.test_client()
    assert Auth(client).login().headers["Location"] == "/index"
    assert "a login attempt per account was not counted" in log_text(app)


# --- Where counts are kept -----------------------------------------------------------------


def test_an_unreachable_redis_costs_no_request_and_limits_still_hold_per_process(make_app):
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    assert client.get("/login").status_code == 200
    data = bad_login(client)
    statuses = [client.post("/login", data=data).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    assert client.get("/index").status_code == 302
    assert "Rate limit storage unreachable - falling back to in-memory storage" in log_text(app)
    assert " ERROR " not in log_text(app)


@pytest.mark.parametrize(
    ("storage", "workers", "warned"),
    [
        ("memory://", 2, True),
        ("memory://", 1, False),
        ("redis://127.0.0.1:6379/0", 4, False),
    ],
)
def test_several_workers_counting_in_memory_are_warned_about(make_app, storage, workers, warned):
    app = make_app(RATELIMIT_STORAGE_URI=storage)
    warn_if_counted_per_process(app, workers)
    warning = f"RATELIMIT_STORAGE_URI is memory:// with {workers} workers"
    assert (warning in log_text(app)) is warned


def test_redis_storage_gets_timeouts_and_every_storage_raises_storage_errors():
    class RedisConfig(Config):
        RATELIMIT_STORAGE_URI = "redis://cache.internal:6379"

    assert RedisConfig.RATELIMIT_STORAGE_OPTIONS == {
        "wrap_exceptions": True,
        "socket_connect_timeout": 1,
        "socket_timeout": 1,
    }
    assert Config.RATELIMIT_STORAGE_OPTIONS == {"wrap_exceptions": True}


def test_pages_without_limits_run_none_of_the_limiters_hooks(app) -> None:
    # The hooks cost every request CPU; only the blueprint with limited views needs them.
    def limiters(hooks: list) -> list:
        return [hook for hook in hooks if "limiter" in repr(inspect.unwrap(hook)).lower()]

    assert not limiters(app.before_request_funcs[None] + app.before_request_funcs["auth"])
    for hooks in (app.after_request_funcs, app.teardown_request_funcs):
        assert not limiters(hooks[None])
        assert limiters(hooks["auth"])


def test_a_get_of_a_limited_view_never_reaches_the_limiter(client, alice, monkeypatch) -> None:
    checks = []
    check = limiter._check_request_limit

    def counted(**kwargs):
        checks.append(kwargs)
        return check(**kwargs)

    monkeypatch.setattr(limiter, "_check_request_limit", counted)
    for path in ("/login", "/register", "/reset_password/not-a-token"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert "X-RateLimit-Limit" not in response.headers
        assert client.head(path).status_code == response.status_code
    assert checks == []
    assert client.post("/login", data=bad_login(client)).status_code == 200
    assert len(checks) == 1


@pytest.mark.parametrize("method, runs", [("POST", True), ("GET", False), ("HEAD", False)])
def test_the_limiters_hooks_run_on_posts_only(app, method, runs) -> None:
    seen = []

    def hook(value):
        seen.append(value)
        return "hook's answer"

    with app.test_request_context("/login", method=method):
        answer = rate_limits.on_limited_requests(hook)("response")
    assert seen == (["response"] if runs else [])
    assert answer == ("hook's answer" if runs else "response")


@pytest.mark.parametrize("setting", ["RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"])
def test_a_limit_on_every_view_is_refused_at_startup(make_app, setting) -> None:
    # Every limit is declared on its view and GETs skip the limiter: an app-wide
    # limit would silently not hold, so the app does not start with one.
    with pytest.raises(ConfigError, match=setting):
        make_app(**{setting: "100 per minute"})


def test_looking_at_a_limited_form_is_never_limited(client, alice) -> None:
    data = bad_login(client)
    statuses = [client.post("/login", data=data).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    for path in ("/login", "/register", "/reset_password/not-a-token"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert "X-RateLimit-Limit" not in response.headers
        assert client.head(path).status_code == response.status_code


def test_limited_answers_carry_the_rate_limit_headers(client, alice) -> None:
    response = client.post("/login", data=bad_login(client))
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "9"
    assert "X-RateLimit-Limit" not in client.get("/explore").headers
