"""The core behaviour suite: every page, form rule and error a user can meet.

Fixtures (``client``, ``auth``, ``alice``, ``make_app``...) come from testkit.plugin;
the other in-process suites are in test_suites/features/, grouped by feature.
"""

import hashlib
import os
import re
import warnings
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote

import psycopg
import pytest
import sqlalchemy as sa
from flask import render_template_string
from werkzeug.datastructures import MultiDict
from werkzeug.debug import DebuggedApplication
from werkzeug.test import Client

from app.account.forms import ChangePasswordForm, EditProfileForm
from app.auth.forms import (
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetPasswordRequestForm,
)
from app.database import utcnow
from app.extensions import db
from app.models import Post, User
from app.posts.forms import PostForm, ReplyForm
from app.search.index import is_search_index
from config import parse_database_url
from testkit.clients import (
    PASSWORD,
    Auth,
    csrf_token,
    is_logged_in,
    link_to,
    make_user,
    page_text,
    run_together,
    submit,
)
from testkit.databases import PostgresDatabase
from testkit.services.postgres import create_database, drop_database


def user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def form_markup(page: str) -> str:
    """The form of a page that posts to itself, its CSRF token and whitespace left out."""
    form = re.search(r'<form action="" method="post".*?</form>', page, re.S).group(0)
    form = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', form)
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", form))


# --- Registration ---------------------------------------------------------------------


@pytest.mark.both_databases
def test_register_creates_account_signs_the_user_in_and_lands_on_home(client, auth):
    response = auth.register("alice", "Alice@Example.COM")
    assert response.status_code == 302
    assert response.headers["Location"] == "/index"
    user = db.session.scalar(sa.select(User))
    assert user.username == "alice"
    assert user.email == "alice@example.com"
    assert user.check_password(PASSWORD)
    home = client.get("/index")
    assert home.status_code == 200
    assert "Welcome to Microblog, alice!" in page_text(home)
    assert "Hi, alice!" in page_text(home)
    assert is_logged_in(client)


def test_register_page_shows_the_form(client):
    page = page_text(client.get("/register"))
    for field in ("username", "email", "password", "password2"):
        assert f'name="{field}"' in page


def test_register_page_links_hints_and_errors_to_their_fields(client):
    """Screen readers read a field's rules, then its error, with the field itself."""
    page = page_text(client.get("/register"))
    assert 'aria-describedby="password-help"' in page
    assert '<div id="password-help" class="form-text">8 to 128 characters.' in page
    response = submit(
        client,
        "/register",
        {"username": "a", "email": "a@example.com", "password": "x", "password2": "y"},
    )
    page = page_text(response)
    assert 'aria-describedby="username-error username-help" aria-invalid="true"' in page
    assert '<div id="username-error" class="invalid-feedback">Usernames are 3 to 64' in page
    assert 'aria-describedby="password2-error" aria-invalid="true"' in page
    assert '<div id="password2-error" class="invalid-feedback">Passwords must match.</div>' in page


@pytest.mark.parametrize("taken", ["alice", "ALICE", "Alice"])
@pytest.mark.both_databases
def test_register_refuses_a_taken_username_regardless_of_case(alice, auth, taken):
    response = auth.register(taken, "other@example.com")
    assert response.status_code == 200
    assert "Please use a different username." in page_text(response)
    assert user_count() == 1


@pytest.mark.parametrize("taken", ["alice@example.com", "ALICE@example.com"])
@pytest.mark.both_databases
def test_register_refuses_a_taken_email_regardless_of_case(alice, auth, taken):
    response = auth.register("bob", taken)
    assert response.status_code == 200
    assert "Please use a different email address." in page_text(response)
    assert user_count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "An email address must have an @-sign."),
        ("email", "bob@", "There must be something after the @-sign."),
        ("username", "ab", "Usernames are 3 to 64 characters long."),
        ("username", "x" * 65, "Usernames are 3 to 64 characters long."),
        ("username", "bob smith", "Use only letters, digits, dots, dashes and underscores."),
        ("username", "b/o/b", "Use only letters, digits, dots, dashes and underscores."),
        ("username", "", "This field is required."),
    ],
)
def test_register_explains_invalid_fields(client, field, value, message):
    data = {
        "username": "bob",
        "email": "bob@example.com",
        "password": PASSWORD,
        "password2": PASSWORD,
        field: value,
    }
    response = submit(client, "/register", data)
    assert response.status_code == 200
    assert message in page_text(response)
    assert user_count() == 0


def test_register_requires_matching_passwords(client):
    data = {
        "username": "bob",
        "email": "bob@example.com",
        "password": PASSWORD,
        "password2": PASSWORD + "x",
    }
    response = submit(client, "/register", data)
    assert "Passwords must match." in page_text(response)
    assert user_count() == 0


def test_logged_in_user_visiting_register_or_login_goes_home(client, logged_in):
    assert client.get("/register").headers["Location"] == "/index"
    assert client.get("/login").headers["Location"] == "/index"


# --- Login and logout -----------------------------------------------------------------


def test_login_with_correct_password_goes_to_index(client, auth, alice):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/index"
    assert "Hi, alice!" in page_text(client.get("/index"))


@pytest.mark.both_databases
def test_login_accepts_the_username_in_any_case(client, auth, alice):
    assert auth.login("ALICE").headers["Location"] == "/index"


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong password"), ("bob", PASSWORD)]
)
def test_login_failure_gives_one_message_for_unknown_user_and_wrong_password(
    client, auth, alice, username, password
):
    response = auth.login(username, password, follow_redirects=True)
    assert response.status_code == 200
    assert "Invalid username or password" in page_text(response)
    assert "Hi, alice!" not in page_text(client.get("/index", follow_redirects=True))


def test_login_page_shows_the_empty_form_as_the_form_macro_writes_it(app, client):
    page = page_text(client.get("/login"))
    with app.test_request_context("/login"):
        rendered = render_template_string(
            '{% from "_macros.html" import render_form %}{{ render_form(form) }}',
            form=LoginForm(),
        )
    assert form_markup(page) == form_markup(rendered)


def test_login_remember_me_sets_a_remember_cookie(client, auth, alice):
    auth.login(remember_me=True)
    assert client.get_cookie("remember_token") is not None


def test_login_without_remember_me_sets_no_remember_cookie(client, auth, alice):
    auth.login()
    assert client.get_cookie("remember_token") is None


@pytest.mark.parametrize("target", ["/user/alice?tab=posts", "/index#x", "/edit_profile"])
def test_login_honours_a_next_path_on_this_site(auth, alice, target):
    response = auth.login(query="next=" + quote(target, safe=""))
    assert response.headers["Location"] == target


def test_logout_is_a_post_that_ends_the_session(client, logged_in, auth):
    assert client.get("/logout").status_code == 405
    assert "Hi, alice!" in page_text(client.get("/index"))
    response = auth.logout()
    assert response.headers["Location"] == "/login"
    assert "You have been logged out." in page_text(client.get("/login"))
    assert client.get("/edit_profile").headers["Location"].startswith("/login")
    assert client.get("/index").headers["Location"] == "/explore"


def test_logout_without_csrf_token_is_refused(client, logged_in):
    response = client.post("/logout")
    assert response.status_code == 400
    assert "The CSRF token is missing." in page_text(response)
    assert "Hi, alice!" in page_text(client.get("/index"))


# --- Home page and posts --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/edit_profile", "/user/alice", "/user/alice/followers", "/user/alice/following"],
)
def test_pages_for_members_send_visitors_to_login(client, alice, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=" + quote(path, safe="")


@pytest.mark.parametrize("path", ["/", "/index"])
def test_visitors_without_an_account_land_on_explore(client, alice, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/explore"
    page = page_text(client.get(path, follow_redirects=True))
    assert "<h1" in page and "Explore" in page
    assert "Please log in to access this page." not in page


def test_writing_a_post_shows_it_on_home_and_profile(client, logged_in):
    response = submit(client, "/index", {"body": "My first post"})
    assert response.headers["Location"] == "/index"
    home = page_text(client.get("/index"))
    assert "Your post is now live!" in home
    assert "My first post" in home
    assert 'href="/user/alice"' in home
    assert logged_in.avatar(48).replace("&", "&amp;") in home
    assert "My first post" in page_text(client.get("/user/alice"))


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "This field is required."), ("x" * 141, "Field must be between 1 and 140 characters")],
)
def test_invalid_posts_are_refused_with_a_message(client, logged_in, body, message):
    response = submit(client, "/index", {"body": body})
    assert response.status_code == 200
    assert message in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 0


@pytest.mark.both_databases
def test_a_140_character_post_is_accepted(client, logged_in):
    submit(client, "/index", {"body": "x" * 140})
    assert db.session.scalar(sa.select(Post.body)) == "x" * 140


@pytest.mark.parametrize(("page", "form_class"), [("home", PostForm), ("post", ReplyForm)])
def test_an_empty_post_form_is_shown_as_the_form_macro_writes_it(
    app, client, logged_in, page, form_class
):
    path = "/index"
    if page == "post":
        post = Post.publish("A post to answer", logged_in.id)
        db.session.commit()
        path = f"/post/{post.id}"
    shown = page_text(client.get(path))
    with app.test_request_context(path):
        rendered = render_template_string(
            '{% from "_macros.html" import render_form %}{{ render_form(form) }}',
            form=form_class(),
        )
    assert form_markup(shown) == form_markup(rendered)


def first_tag(markup: str) -> tuple[str, dict[str, str | None], str]:
    """The first element of ``markup``: its name, its attributes, and the text inside it."""

    class FirstTag(HTMLParser):
        found: tuple[str, dict[str, str | None], str] | None = None

        def handle_starttag(self, tag, attrs):
            if self.found is None:
                self.found = (tag, dict(attrs), "")

        def handle_data(self, data):
            if self.found is not None:
                self.found = (*self.found[:2], self.found[2] + data)

    parser = FirstTag()
    parser.feed(markup)
    assert parser.found is not None, markup
    return parser.found


SUBMITTED = MultiDict(
    {
        "username": "alice",
        "email": "alice@example.com",
        "about_me": 'Quotes " and <tags> & ampersands',
        "body": "A post\nover two lines",
        "password": "not shown again",
        "remember_me": "y",
    }
)


@pytest.mark.parametrize(
    "make_form",
    [
        LoginForm,
        RegistrationForm,
        PostForm,
        lambda **kwargs: EditProfileForm("alice", **kwargs),
        ChangePasswordForm,
        ResetPasswordRequestForm,
        ResetPasswordForm,
    ],
)
def test_the_form_macros_write_the_controls_wtforms_widgets_write(app, make_form):
    # The macros stand in for the widgets (docs/performance.md): same element, same
    # attributes, same escaped value, for every control of every form.
    control = app.jinja_env.from_string(
        '{% from "_macros.html" import control %}{{ control(field, "form-control", extra) }}'
    )
    extra = {"aria-describedby": "hint"}
    with app.test_request_context("/", method="POST"):
        form = make_form(formdata=SUBMITTED)
        form.validate()
        for field in form:
            if field.type in ("CSRFTokenField", "SubmitField"):
                continue
            ours = first_tag(control.render(field=field, extra=extra))
            theirs = first_tag(field(class_="form-control", **extra))
            assert ours == theirs, field.name


@pytest.mark.both_databases
def test_home_feed_shows_own_and_followed_posts_newest_first_in_pages(client, logged_in):
    bob = make_user("bob")
    logged_in.follow(bob)
    start = utcnow() - timedelta(hours=1)
    for number in range(7):
        author = bob if number % 2 else logged_in
        db.session.add(
            Post(
                body=f"post number {number}",
                author=author,
                timestamp=start + timedelta(minutes=number),
            )
        )
    db.session.commit()

    first = page_text(client.get("/index"))
    assert (
        first.index("post number 6") < first.index("post number 5") < first.index("post number 4")
    )
    assert "post number 3" not in first
    assert "Older posts" in first and "Newer posts" not in first
    assert 'href="/user/bob"' in first

    second = page_text(client.get(link_to(first, "Older posts")))
    assert second.index("post number 3") < second.index("post number 1")
    assert "post number 4" not in second and "post number 0" not in second
    last = page_text(client.get(link_to(second, "Older posts")))
    assert "post number 0" in last and "post number 1" not in last
    assert "Newer posts" in last and "Older posts" not in last
    # A page number typed by hand shows the same page.
    assert "post number 0" in page_text(client.get("/index?page=3"))


@pytest.mark.parametrize("page", ["0", "-4", "abc", "99999999999999999999999999"])
@pytest.mark.both_databases
def test_odd_page_numbers_never_fail(client, logged_in, page):
    # Unreadable or negative numbers are page 1; a huge one is past the last page.
    expected = 404 if page.isdigit() and int(page) > 1 else 200
    for path in ("/index", "/explore", "/user/alice", "/user/alice/followers"):
        assert client.get(f"{path}?page={page}").status_code == expected, path
    assert client.get(f"/user/alice/following?page={page}").status_code == expected


def test_home_without_posts_says_so_and_shows_no_placeholder(client, logged_in):
    page = page_text(client.get("/index"))
    assert "No posts yet." in page
    assert "Older posts" not in page


# --- Profiles -------------------------------------------------------------------------


def test_profile_shows_avatar_about_me_last_seen_and_posts(client, logged_in):
    logged_in.about_me = "I write tests."
    db.session.add(Post(body="from alice", author=logged_in))
    db.session.commit()
    page = page_text(client.get("/user/alice"))
    assert re.search(r"<h1[^>]*>alice</h1>", page)
    assert "User: alice" not in page
    assert "I write tests." in page
    assert "Last seen <time" in page
    assert "from alice" in page
    assert "?d=identicon&amp;s=128" in page
    assert "Edit your profile" in page


def test_someone_elses_profile_has_no_edit_link(client, logged_in):
    bob = make_user("bob")
    db.session.add(Post(body="from bob", author=bob))
    db.session.commit()
    page = page_text(client.get("/user/bob"))
    assert re.search(r"<h1[^>]*>bob</h1>", page) and "from bob" in page
    assert "Edit your profile" not in page


@pytest.mark.both_databases
def test_profile_only_lists_that_users_posts_in_pages(client, logged_in):
    bob = make_user("bob")
    for number in range(4):
        db.session.add(Post(body=f"bob says {number}", author=bob))
    db.session.add(Post(body="alice says hi", author=logged_in))
    db.session.commit()
    first = page_text(client.get("/user/bob"))
    assert "alice says hi" not in first
    assert link_to(first, "Older posts").startswith("/user/bob?page=2&after=")
    second = page_text(client.get(link_to(first, "Older posts")))
    assert "bob says 0" in second and "alice says hi" not in second


def test_unknown_profile_is_404_in_the_layout(client, logged_in):
    response = client.get("/user/nobody")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)
    assert "Microblog</a>" in page_text(response)


def test_avatar_is_gravatar_of_lowercased_email(app):
    user = User(username="carol", email="Carol@Example.com")
    digest = hashlib.md5(b"carol@example.com", usedforsecurity=False).hexdigest()
    assert user.avatar(80) == f"https://www.gravatar.com/avatar/{digest}?d=identicon&s=80"


# --- Editing a profile ----------------------------------------------------------------


def test_edit_profile_form_is_filled_with_current_values(client, logged_in):
    logged_in.about_me = "Old words"
    db.session.commit()
    page = page_text(client.get("/edit_profile"))
    assert 'value="alice"' in page
    assert "Old words" in page


@pytest.mark.both_databases
def test_edit_profile_saves_and_redirects(client, logged_in):
    response = submit(client, "/edit_profile", {"username": "alicia", "about_me": "New words"})
    assert response.headers["Location"] == "/edit_profile"
    assert "Your changes have been saved." in page_text(client.get("/edit_profile"))
    db.session.refresh(logged_in)
    assert (logged_in.username, logged_in.about_me) == ("alicia", "New words")


@pytest.mark.both_databases
def test_edit_profile_may_keep_or_recase_ones_own_name(client, logged_in):
    assert submit(client, "/edit_profile", {"username": "alice"}).status_code == 302
    assert submit(client, "/edit_profile", {"username": "Alice"}).status_code == 302
    db.session.refresh(logged_in)
    assert logged_in.username == "Alice"


@pytest.mark.parametrize("taken", ["bob", "BOB"])
@pytest.mark.both_databases
def test_edit_profile_refuses_another_users_name_and_changes_nothing(client, logged_in, taken):
    make_user("bob")
    response = submit(client, "/edit_profile", {"username": taken, "about_me": "changed"})
    assert response.status_code == 200
    assert "Please use a different username." in page_text(response)
    db.session.refresh(logged_in)
    assert (logged_in.username, logged_in.about_me) == ("alice", None)


def test_edit_profile_limits_about_me_to_140_characters(client, logged_in):
    response = submit(client, "/edit_profile", {"username": "alice", "about_me": "x" * 141})
    assert response.status_code == 200
    assert "Field cannot be longer than 140 characters." in page_text(response)


# --- last_seen ------------------------------------------------------------------------


@pytest.mark.both_databases
def test_last_seen_is_written_at_most_once_a_minute(client, logged_in):
    recent = utcnow() - timedelta(seconds=30)
    logged_in.last_seen = recent
    db.session.commit()
    client.get("/index")
    db.session.refresh(logged_in)
    assert logged_in.last_seen == recent

    stale = utcnow() - timedelta(minutes=2)
    logged_in.last_seen = stale
    db.session.commit()
    client.get("/index")
    db.session.refresh(logged_in)
    assert logged_in.last_seen > stale + timedelta(minutes=1)


# --- Error pages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "status", "title"),
    [
        ("/missing", "get", 404, "Page not found"),
        ("/logout", "get", 405, "Not allowed here"),
        ("/logout", "post", 400, "Bad request"),
        ("/crash/status/403", "get", 403, "Not allowed"),
        ("/crash/status/418", "get", 418, "I&#39;m a teapot"),
    ],
)
def test_http_errors_render_in_the_layout_with_a_way_home(make_app, path, method, status, title):
    response = getattr(make_app().test_client(), method)(path)
    assert response.status_code == status
    page = page_text(response)
    assert re.search(rf"<h1[^>]*>{re.escape(title)}</h1>", page)
    assert "Microblog</a>" in page
    assert "Back to the home page" in page
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    ("path", "stock_text"),
    [
        ("/missing", "The requested URL was not found on the server."),
        ("/crash/", "The server encountered an internal error"),
    ],
)
def test_error_pages_speak_in_the_sites_words_not_werkzeugs(make_app, path, stock_text):
    page = page_text(make_app().test_client().get(path))
    assert stock_text not in page
    assert "Not Found" not in page and "Internal Server Error" not in page


def test_405_keeps_the_allow_header(make_app):
    response = make_app().test_client().get("/logout")
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_unhandled_exception_gives_friendly_500_without_internals(make_app):
    response = make_app().test_client().get("/crash/after-sql")
    assert response.status_code == 500
    page = page_text(response)
    assert re.search(r"<h1[^>]*>Something went wrong</h1>", page)
    assert f"<code>{response.headers['X-Request-ID']}</code>" in page  # the error reference
    assert "Microblog</a>" in page
    leaks = ("Traceback", "DeliberateFailure", "RuntimeError", "SELECT", "password_hash")
    for leak in (*leaks, "secret internals"):
        assert leak not in page


def test_500_rolls_back_the_session_before_rendering(make_app):
    app = make_app()
    assert app.test_client().get("/crash/after-write").status_code == 500
    with app.app_context():
        assert user_count() == 0


def test_500_falls_back_to_a_plain_page_when_the_layout_fails(make_app, caplog):
    app = make_app()
    # Every template rendering fails: the layout cannot be drawn.
    app.context_processor(lambda: 1 / 0)
    response = app.test_client().get("/crash/")
    assert response.status_code == 500
    page = page_text(response)
    assert "<h1>Something went wrong</h1>" in page
    assert "Back to the home page" in page
    for leak in ("DeliberateFailure", "RuntimeError", "ZeroDivisionError"):
        assert leak not in page
    assert "The 500 page could not be rendered" in caplog.text


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [("/missing", 404, "Not Found"), ("/crash/after-sql", 500, "Internal Server Error")],
)
def test_clients_asking_for_json_get_json_errors(make_app, path, status, error):
    client = make_app().test_client()
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == status
    assert response.json["error"] == error
    assert response.json["message"]
    assert "secret internals" not in page_text(response)


def test_browsers_accepting_anything_get_html_errors(make_app):
    client = make_app().test_client()
    for accept in ("*/*", "text/html,application/json;q=0.9", "application/json;q=0.5,text/html"):
        response = client.get("/missing", headers={"Accept": accept})
        assert response.mimetype == "text/html", accept


def test_debug_mode_shows_the_werkzeug_debugger(make_app):
    app = make_app(DEBUG=True)
    client = Client(DebuggedApplication(app, evalex=True))
    response = client.get("/crash/")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Werkzeug Debugger" in page
    assert "DeliberateFailure: boom" in page


def test_debug_mode_offers_a_crash_route_that_opens_the_debugger(make_app):
    """What the README's debug section tells a newcomer to try with ``flask run --debug``."""
    app = make_app(DEBUG=True)
    response = Client(DebuggedApplication(app, evalex=True)).get("/debug/crash")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Werkzeug Debugger" in page
    assert "Traceback" in page
    assert "app/errors/debugging.py" in page


@pytest.mark.parametrize("settings", [{}, {"TESTING": True}], ids=["production", "testing"])
def test_the_debug_crash_route_does_not_exist_outside_debug_mode(make_app, settings):
    app = make_app(**settings)
    assert not app.debug
    response = app.test_client().get("/debug/crash")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)
    assert "debugging" not in app.blueprints


# --- Concurrency ----------------------------------------------------------------------


@pytest.mark.both_databases
def test_racing_registrations_for_one_name_make_one_account(file_app):
    clients = [file_app.test_client() for _ in range(8)]
    tokens = [csrf_token(client, "/register") for client in clients]

    def register(index: int) -> int:
        data = {
            "csrf_token": tokens[index],
            "username": "racer" if index % 2 else "RACER",
            "email": f"racer{index}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        }
        response = clients[index].post("/register", data=data)
        if response.status_code == 200:
            assert "Please use a different username." in page_text(response)
        return response.status_code

    statuses = run_together(len(clients), register)
    assert sorted(statuses) == [200] * 7 + [302]
    with file_app.app_context():
        assert user_count() == 1


@pytest.mark.both_databases
def test_racing_renames_to_one_name_leave_one_owner(file_app):
    with file_app.app_context():
        for number in range(6):
            make_user(f"user{number}")
    clients = [file_app.test_client() for _ in range(6)]
    for number, client in enumerate(clients):
        Auth(client).login(f"user{number}")
    tokens = [csrf_token(client, "/edit_profile") for client in clients]

    def rename(index: int) -> int:
        data = {"csrf_token": tokens[index], "username": "winner", "about_me": ""}
        response = clients[index].post("/edit_profile", data=data)
        if response.status_code == 200:
            assert "Please use a different username." in page_text(response)
        return response.status_code

    statuses = run_together(len(clients), rename)
    assert sorted(statuses) == [200] * 5 + [302]
    with file_app.app_context():
        names = db.session.scalars(sa.select(User.username)).all()
        assert sorted(names).count("winner") == 1
        assert len(names) == 6


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'pragma.db'}")
    with app.app_context():
        pragma = {
            name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
        db.engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,  # NORMAL
    }


# --- Proxies, migrations, shell -------------------------------------------------------


FORWARDED = {
    "X-Forwarded-For": "198.51.100.1, 203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "blog.example.com",
}


def test_forwarded_headers_are_ignored_without_trusted_proxies(make_app):
    response = make_app().test_client().get("/whoami", headers=FORWARDED)
    assert page_text(response) == "127.0.0.1 http localhost"


@pytest.mark.parametrize(("count", "client"), [(1, "203.0.113.7"), (2, "198.51.100.1")])
def test_trusted_proxies_give_the_real_client_address_scheme_and_host(make_app, count, client):
    response = make_app(TRUSTED_PROXIES=count).test_client().get("/whoami", headers=FORWARDED)
    assert page_text(response) == f"{client} https blog.example.com"


def test_the_layouts_links_follow_the_path_the_site_is_mounted_at(client, alice):
    # The layout's links are built once per mount point (app.templating.FixedUrls):
    # a site mounted at /blog must not be given the links of the one at /.
    assert 'href="/register"' in page_text(client.get("/login"))
    page = page_text(client.get("/login", environ_overrides={"SCRIPT_NAME": "/blog"}))
    for link in ("/blog/explore", "/blog/register", "/blog/static/style.css", "/blog/bootstrap/"):
        assert f'"{link}' in page
    assert '"/register"' not in page and '"/bootstrap/' not in page
    assert 'href="/register"' in page_text(client.get("/login"))


@pytest.mark.parametrize(
    "app_settings", [{"TRUSTED_PROXIES": 1, "RATELIMIT_AUTH": "2 per minute"}]
)
def test_behind_a_proxy_rate_limits_count_per_real_client_whatever_it_forges(client, alice):
    data = {"csrf_token": csrf_token(client), "username": "alice", "password": ""}

    def attempt(forwarded_for: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/login", data=data, headers=headers).status_code

    # Every request comes from the proxy's address; the proxy appends the client's.
    assert attempt("203.0.113.7") == 200
    assert attempt("10.0.0.1, 203.0.113.7") == 200
    assert attempt("10.0.0.2, 203.0.113.7") == 429
    assert attempt("198.51.100.9") == 200


# The search index is made beside the models (app/search/index.py), as in migrations/env.py.
SEARCH_INDEX_ASIDE = {"include_object": lambda obj, name, *args: not is_search_index(name)}


def test_migrations_build_the_schema_the_models_describe(make_app, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.db'}")
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            # SQLite cannot reflect the lower() unique indexes, so they are checked
            # by name below instead of by autogenerate.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*expression-based index")
                diff = compare_metadata(
                    MigrationContext.configure(connection, opts=SEARCH_INDEX_ASIDE), db.metadata
                )
            indexes = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")
            ).scalars()
            assert {"uq_user_username_lower", "uq_user_email_lower"} <= set(indexes)
    assert diff == []


def test_connections_postgresql_dropped_cost_no_request(make_app, postgres_database_url):
    """A database restart or failover closes pooled connections; users never notice."""
    app = make_app(database=PostgresDatabase(postgres_database_url))
    with app.app_context():
        make_user("alice")
    client = app.test_client()
    assert Auth(client).login().status_code == 302
    with psycopg.connect(postgres_database_url, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert dropped >= 1
    response = client.get("/index")
    assert response.status_code == 200
    assert "Hi, alice!" in page_text(response)


def test_flask_db_upgrade_builds_the_schema_on_postgresql_and_downgrade_removes_it(
    make_app, postgres_server_url
):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    name = f"microblog_migrations_{os.getpid()}"
    url = create_database(postgres_server_url, name)
    app = make_app(SQLALCHEMY_DATABASE_URI=parse_database_url("DATABASE_URL", url))
    cli = app.test_cli_runner()
    try:
        upgraded = cli.invoke(args=["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        with app.app_context(), db.engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts=SEARCH_INDEX_ASIDE), db.metadata
            )
            indexes = connection.execute(
                sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
            ).scalars()
            assert {"uq_user_username_lower", "uq_user_email_lower"} <= set(indexes)
        assert diff == []

        downgraded = cli.invoke(args=["db", "downgrade", "base"])
        assert downgraded.exit_code == 0, downgraded.output
        with app.app_context():
            assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
            db.engine.dispose()
    finally:
        drop_database(postgres_server_url, name)


def test_flask_shell_offers_db_and_models(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "y" * 40)
    monkeypatch.setenv("LOG_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    import microblog

    with microblog.app.app_context():
        context = microblog.app.make_shell_context()
    assert {"db", "sa", "User", "Post"} <= set(context)
    assert context["User"] is User
