"""Passwords and sessions: what a password may be, logins that give nothing away, sessions
that start fresh and end everywhere when the password changes."""

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app import models
from app.auth import sessions
from app.auth.passwords import MAX_LENGTH, MIN_LENGTH, common_passwords
from app.auth.sessions import LoginSession, load_user
from app.database import utcnow
from app.extensions import db
from app.models import User
from testkit.clients import (
    NEW_PASSWORD,
    PASSWORD,
    Auth,
    csrf_token,
    is_logged_in,
    make_user,
    page_text,
    submit,
)

# --- What a password may be -----------------------------------------------------------------


def register_with_password(auth, password: str, username: str = "bob"):
    return auth.register(username, password=password)


def test_the_common_password_list_is_large_and_only_holds_choosable_entries() -> None:
    entries = common_passwords()
    assert len(entries) >= 1000
    assert all(MIN_LENGTH <= len(entry) <= MAX_LENGTH for entry in entries)
    assert {"password", "12345678", "iloveyou"} <= entries


def test_the_common_password_list_is_read_once_and_only_when_needed(client, auth) -> None:
    common_passwords.cache_clear()
    assert client.get("/register").status_code == 200
    assert common_passwords.cache_info().currsize == 0  # not read to show a form
    assert auth.register("bob", password="a fine passphrase").status_code == 302
    auth.logout()  # registering signed bob in
    assert auth.register("carol", password="another fine one").status_code == 302
    info = common_passwords.cache_info()
    assert (info.misses, info.hits) == (1, 1)


@pytest.mark.parametrize(
    "password", ["password", "PassWord", "12345678", "ILOVEYOU", "qwertyuiop"]
)
def test_register_refuses_a_common_password_in_any_case(client, auth, password) -> None:
    response = register_with_password(auth, password)
    assert response.status_code == 200
    assert "This password is too common" in page_text(response)
    assert db.session.scalar(sa.select(User)) is None


@pytest.mark.parametrize("password", ["", "short", "a" * 7, "x" * 129])
def test_register_refuses_passwords_shorter_than_8_or_longer_than_128(client, auth, password):
    response = register_with_password(auth, password)
    assert response.status_code == 200
    expected = "This field is required." if not password else "Passwords are 8 to 128 characters"
    assert expected in page_text(response)
    assert db.session.scalar(sa.select(User)) is None


@pytest.mark.parametrize(
    "password", ["zq8 vk2m", "        ", "ναι-όχι-ίσως", "x" * 128, "all lowercase no digits"]
)
def test_register_accepts_any_uncommon_password_of_8_to_128_characters(client, auth, password):
    # No composition rules: no demand for digits, capitals or symbols.
    response = register_with_password(auth, password)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(User)).check_password(password)


def test_long_passwords_are_never_truncated(client, auth) -> None:
    password = "p" * 99 + "1"
    assert register_with_password(auth, password).status_code == 302
    auth.logout()  # registering signed bob in
    near_miss = auth.login("bob", "p" * 99 + "2", follow_redirects=True)
    assert "Invalid username or password" in page_text(near_miss)
    assert auth.login("bob", password).headers["Location"] == "/index"


# --- Login: no hint whether a username exists --------------------------------------------


def count_password_checks(monkeypatch) -> list[str]:
    """Record every hash check the login makes (the costly part of a login)."""
    checked: list[str] = []

    def counting_check(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counting_check)
    return checked


def without_csrf_tokens(page: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', page)


def test_unknown_user_and_wrong_password_get_identical_answers(app, alice, monkeypatch):
    checked = count_password_checks(monkeypatch)
    answers = []
    for username, password in [("alice", "wrong password!"), ("mallory", "wrong password!")]:
        client = app.test_client()
        response = Auth(client).login(username, password, query="next=/user/alice")
        followed = client.get(response.headers["Location"])
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                page_text(response),
                followed.status_code,
                without_csrf_tokens(page_text(followed)),
            )
        )
    assert answers[0] == answers[1]
    assert "Invalid username or password" in answers[0][4]
    # One full password hash each: alice's real one, then the dummy for "mallory".
    assert len(checked) == 2
    assert checked[0] == alice.password_hash
    assert checked[1] == models.dummy_password_hash()
    assert checked[1].split("$")[0] == alice.password_hash.split("$")[0]  # same algorithm


def test_account_without_a_password_cannot_log_in_and_still_costs_a_hash(
    client, auth, alice, monkeypatch
):
    alice.password_hash = None
    db.session.commit()
    checked = count_password_checks(monkeypatch)
    response = auth.login(follow_redirects=True)
    assert "Invalid username or password" in page_text(response)
    assert checked == [models.dummy_password_hash()]


# --- Sessions: one per browser, cleared on login and on logout --------------------------------


def plant_in_session(client, **values) -> None:
    with client.session_transaction() as planted:
        planted.update(values)


def session_keys(client) -> set[str]:
    with client.session_transaction() as current:
        return set(current)


def test_a_second_client_does_not_inherit_the_first_clients_user(client, logged_in, app):
    # Flask-Login caches the user in flask.g: a shared app context would leak it.
    other = app.test_client()
    response = other.get("/edit_profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert other.get("/index").headers["Location"] == "/explore"
    assert "Hi, alice!" in client.get("/index").get_data(as_text=True)


def test_login_starts_a_fresh_session(client, auth, alice) -> None:
    # What an attacker could have put in the victim's session before login.
    plant_in_session(client, planted="attacker", _user_id="999")
    assert auth.login().headers["Location"] == "/index"
    keys = session_keys(client)
    assert "planted" not in keys
    assert "Hi, alice!" in page_text(client.get("/index"))


def test_register_starts_a_fresh_session_like_login(client, auth) -> None:
    plant_in_session(client, planted="attacker", _user_id="999")
    response = auth.register("bob")
    assert response.headers["Location"] == "/index"
    assert "planted" not in session_keys(client)
    with client.session_transaction() as current:
        assert load_user(current["_user_id"]).id == User.by_username("bob").id  # a new login
    assert "Hi, bob!" in page_text(client.get("/index"))


def test_a_refused_registration_signs_nobody_in(client, auth, alice) -> None:
    assert auth.register("alice", "other@example.com").status_code == 200
    assert not is_logged_in(client)


def test_logout_clears_the_whole_session_and_the_remember_cookie(client, auth, alice) -> None:
    auth.login(remember_me=True)
    plant_in_session(client, draft="left behind")
    assert client.get_cookie("remember_token") is not None
    auth.logout()
    assert "draft" not in session_keys(client)
    assert "_user_id" not in session_keys(client)
    assert client.get_cookie("remember_token") is None
    assert not is_logged_in(client)


# --- Changing the password ends every other session -------------------------------------


def remembered_only(app, auth_name: str = "alice"):
    """A client that was remembered and whose browser session has since ended."""
    client = app.test_client()
    Auth(client).login(auth_name, remember_me=True)
    client.delete_cookie("session")
    assert is_logged_in(client)  # the remember cookie alone signs it in
    return client


def test_profile_editor_offers_a_change_password_form(client, logged_in) -> None:
    page = page_text(client.get("/edit_profile"))
    assert "Change password" in page
    assert 'action="/change_password"' in page
    for field in ("current_password", "new_password", "new_password2"):
        assert f'id="password-{field}"' in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # no id clashes with the profile form's


@pytest.mark.both_databases
def test_changing_password_signs_out_other_sessions_and_remember_cookies(
    app, client, auth, logged_in
):
    other_browser = app.test_client()
    Auth(other_browser).login()
    remembered = remembered_only(app)
    old_token = logged_in.session_token

    response = auth.change_password(PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/edit_profile"
    assert "Your password has been changed." in page_text(client.get("/edit_profile"))

    assert is_logged_in(client)  # this session goes on
    assert not is_logged_in(other_browser)
    assert not is_logged_in(remembered)
    assert remembered.get("/edit_profile").headers["Location"].startswith("/login")
    assert logged_in.session_token != old_token
    assert logged_in.check_password(NEW_PASSWORD)
    assert not logged_in.check_password(PASSWORD)
    fresh = app.test_client()
    assert "Invalid username or password" in page_text(
        Auth(fresh).login(password=PASSWORD, follow_redirects=True)
    )
    assert Auth(fresh).login(password=NEW_PASSWORD).headers["Location"] == "/index"


def test_a_remembered_session_stays_remembered_after_its_own_password_change(app, alice):
    client = remembered_only(app)
    assert Auth(client).change_password(PASSWORD, NEW_PASSWORD).status_code == 302
    client.delete_cookie("session")  # the browser closes again
    assert is_logged_in(client)


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("not my password", NEW_PASSWORD, None, "Your current password is not correct."),
        ("", NEW_PASSWORD, None, "This field is required."),
        (PASSWORD, "password123", None, "This password is too common"),
        (PASSWORD, "short", None, "Passwords are 8 to 128 characters long."),
        (PASSWORD, NEW_PASSWORD, "a different passphrase", "Passwords must match."),
    ],
)
def test_a_refused_password_change_explains_why_and_changes_nothing(
    app, client, auth, logged_in, current, new, repeat, message
) -> None:
    other_browser = app.test_client()
    Auth(other_browser).login()
    before = (logged_in.password_hash, logged_in.session_token)
    response = auth.change_password(current, new, repeat)
    assert response.status_code == 200
    assert message in page_text(response)
    assert 'value="alice"' in page_text(response)  # the profile form is still filled in
    db.session.refresh(logged_in)
    assert (logged_in.password_hash, logged_in.session_token) == before
    assert is_logged_in(client)
    assert is_logged_in(other_browser)


def test_a_session_from_before_session_tokens_no_longer_loads_a_user(client, alice) -> None:
    plant_in_session(client, _user_id=str(alice.id), _fresh=True)
    assert not is_logged_in(client)
    plant_in_session(client, _user_id=f"{alice.id}:{'0' * 64}", _fresh=True)
    assert not is_logged_in(client)


def test_migration_0002_gives_every_existing_account_its_own_token(make_app, tmp_path) -> None:
    from flask_migrate import downgrade, upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'upgrade.db'}")
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            for name in ("alice", "bob"):
                connection.execute(
                    sa.text(
                        "INSERT INTO user (username, email, password_hash) "
                        "VALUES (:name, :name || '@example.com', 'x')"
                    ),
                    {"name": name},
                )
        upgrade()
        with db.engine.connect() as connection:
            tokens = connection.execute(sa.text("SELECT session_token FROM user")).scalars().all()
            indexes = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")
            ).scalars()
            assert {"uq_user_username_lower", "uq_user_email_lower"} <= set(indexes)
        assert len(tokens) == 2
        assert len(set(tokens)) == 2
        assert all(re.fullmatch(r"[0-9a-f]{64}", token) for token in tokens)
        downgrade(revision="0001")
        with db.engine.connect() as connection:
            columns = connection.execute(sa.text("SELECT name FROM pragma_table_info('user')"))
            assert "session_token" not in set(columns.scalars())


# --- Logins are records on the server: logging out ends them ----------------------------


def cookie_values(client) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in ("session", "remember_token")}


def browser_with(app, **cookies: str):
    """A new browser holding copies of some cookies, as someone who stole them would."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


@pytest.mark.both_databases
def test_after_logout_a_copy_of_the_session_or_remember_cookie_signs_nobody_in(
    app, client, auth, alice
):
    auth.login(remember_me=True)
    stolen = cookie_values(client)
    assert is_logged_in(browser_with(app, session=stolen["session"]))
    assert is_logged_in(browser_with(app, remember_token=stolen["remember_token"]))

    auth.logout()

    assert not is_logged_in(browser_with(app, session=stolen["session"]))
    assert not is_logged_in(browser_with(app, remember_token=stolen["remember_token"]))
    assert not is_logged_in(browser_with(app, **stolen))
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id))) == 0


def test_logging_out_ends_only_that_browsers_login(app, client, auth, alice):
    other = app.test_client()
    Auth(other).login()
    auth.login()
    auth.logout()
    assert not is_logged_in(client)
    assert is_logged_in(other)


@pytest.mark.parametrize("app_settings", [{"REMEMBER_COOKIE_DAYS": 3}])
@pytest.mark.both_databases
def test_a_remembered_login_ends_on_the_server_after_remember_cookie_days(app, alice, monkeypatch):
    client = remembered_only(app)
    stolen = cookie_values(client)
    signed_in = utcnow()
    monkeypatch.setattr(sessions, "utcnow", lambda: signed_in + timedelta(days=3, minutes=-1))
    assert is_logged_in(browser_with(app, remember_token=stolen["remember_token"]))
    monkeypatch.setattr(sessions, "utcnow", lambda: signed_in + timedelta(days=3, minutes=1))
    # Whatever expiry date the cookie claims, and with the session cookie too.
    assert not is_logged_in(browser_with(app, remember_token=stolen["remember_token"]))
    assert not is_logged_in(browser_with(app, **stolen))


@pytest.mark.both_databases
def test_a_login_without_remember_me_ends_with_the_session_lifetime(app, client, auth, alice):
    auth.login()
    [login] = db.session.scalars(sa.select(LoginSession)).all()
    assert login.remembered is False
    assert login.expires_at - login.created_at == app.permanent_session_lifetime


@pytest.mark.both_databases
def test_the_profile_editor_lists_every_browser_signed_in_and_marks_this_one(
    app, client, auth, alice
):
    phone = app.test_client()
    Auth(phone).login(remember_me=True, headers={"User-Agent": "Phone Browser/2.0"})
    auth.login(headers={"User-Agent": "Desk Browser/1.0\x00\x1b[31m"})
    page = page_text(client.get("/edit_profile"))
    assert "Where you are signed in" in page
    listed = re.findall(r'<li class="list-group-item px-0">(.*?)</li>', page, re.S)
    assert len(listed) == 2
    newest, older = listed
    assert "Desk Browser/1.0[31m" in newest  # control characters are dropped
    assert "This browser" in newest
    assert "Phone Browser/2.0" in older
    assert "This browser" not in older
    assert "remembered until" in older
    assert "Sign out everywhere else</button>" in page


@pytest.mark.both_databases
def test_sign_out_everywhere_else_ends_the_other_logins_and_keeps_this_one(
    app, client, auth, alice
):
    others = [app.test_client() for _ in range(2)]
    for other in others:
        Auth(other).login(remember_me=True)
    remembered = remembered_only(app)
    auth.login()
    response = submit(client, "/sign_out_elsewhere", {}, form_page="/edit_profile")
    assert response.headers["Location"] == "/edit_profile"
    page = page_text(client.get("/edit_profile"))
    assert "You have been signed out everywhere else (3 other browsers)." in page
    assert page.count('class="list-group-item px-0"') == 1
    assert "disabled>Sign out everywhere else</button>" in page
    assert is_logged_in(client)
    assert not any(is_logged_in(other) for other in [*others, remembered])


def test_sign_out_everywhere_else_needs_a_login_and_a_csrf_token(app, client, auth, alice):
    assert client.post("/sign_out_elsewhere").status_code == 400
    token = csrf_token(client, "/login")
    response = client.post("/sign_out_elsewhere", data={"csrf_token": token})
    assert response.headers["Location"].startswith("/login")
    other = app.test_client()
    Auth(other).login()
    auth.login()
    assert client.post("/sign_out_elsewhere").status_code == 400
    assert is_logged_in(other)


@pytest.mark.both_databases
def test_logins_made_before_a_password_change_are_neither_listed_nor_kept(
    app, client, auth, alice
):
    Auth(app.test_client()).login()
    auth.login()
    alice.set_password(NEW_PASSWORD)  # as a password reset would
    db.session.commit()
    assert not is_logged_in(client)
    Auth(client).login(password=NEW_PASSWORD)
    assert page_text(client.get("/edit_profile")).count('class="list-group-item px-0"') == 1
    # Signing in cleared the logins that had ended.
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id))) == 1


@pytest.mark.both_databases
def test_the_same_password_change_sent_twice_at_once_keeps_this_browser_signed_in(file_app):
    with file_app.app_context():
        make_user("alice")
    first = file_app.test_client()
    Auth(first).login(remember_me=True)
    token = csrf_token(first, "/edit_profile")
    # One browser, one form, sent twice: both requests carry the same cookies.
    second = browser_with(file_app, **cookie_values(first))
    form = {
        "password-csrf_token": token,
        "password-current_password": PASSWORD,
        "password-new_password": NEW_PASSWORD,
        "password-new_password2": NEW_PASSWORD,
    }
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def change(client) -> None:
        barrier.wait()
        statuses.append(client.post("/change_password", data=form).status_code)

    threads = [threading.Thread(target=change, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 302 in statuses
    assert set(statuses) <= {200, 302}
    # Whichever answer the browser kept last, it is signed in, remembered or not.
    for browser in (first, second):
        assert is_logged_in(browser)
        browser.delete_cookie("session")
        assert is_logged_in(browser)
    fresh = file_app.test_client()
    assert Auth(fresh).login(password=NEW_PASSWORD).headers["Location"] == "/index"
