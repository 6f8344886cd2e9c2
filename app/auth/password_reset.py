"""Password reset by email: the signed, single-use link and the message that carries it.

A link holds a token signed with the app's secret for this purpose alone (its own
salt: a session cookie or CSRF token is no reset token, and a reset token is
neither of those). It names the account and a fingerprint of the account's
session token, which every password change replaces (``User.set_password``): once
the password has changed, that link and every other link issued before stop
working. A link also expires after ``PASSWORD_RESET_MINUTES``.

The link's address comes from configuration (``SITE_URL``, or ``SERVER_NAME`` and
``PREFERRED_URL_SCHEME``), never from the request, whose Host header the client
chooses. Without one, outside debug mode, the feature is off.
"""

import hashlib
import hmac
from dataclasses import dataclass

from flask import Flask, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer

from app.extensions import db
from app.languages import N_
from app.languages.selection import language_of
from app.mail import Email, can_send_email, send_email
from app.models import User

# Not a secret: it keeps tokens signed for this purpose apart from all others.
TOKEN_SALT = "microblog.password-reset"  # noqa: S105
SUBJECT = N_("Reset your Microblog password")


@dataclass(frozen=True)
class ResetSettings:
    # None only in debug mode without an address: a developer's own machine, where
    # the request's address is the one the developer's browser uses.
    site_url: str | None
    minutes: int


def configured_site_url(config: dict) -> str | None:
    """The site's public address from SITE_URL, or else SERVER_NAME; None without either."""
    if config["SITE_URL"]:
        return config["SITE_URL"]
    if config.get("SERVER_NAME"):
        root = (config.get("APPLICATION_ROOT") or "/").rstrip("/")
        return f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME']}{root}"
    return None


def why_unavailable(app: Flask) -> str | None:
    """Why password reset must stay off in this app, or None when it can work."""
    if app.debug:
        return None
    if configured_site_url(app.config) is None:
        return (
            "set SITE_URL (e.g. https://blog.example.com) so that reset links point at "
            "this site; the address a request names is the client's choice"
        )
    if not can_send_email(app):
        return "set MAIL_SERVER so that reset links can be mailed"
    return None


def init_app(app: Flask) -> None:
    """Turn the feature on when it can work; otherwise say why at startup."""
    reason = why_unavailable(app)
    if reason is not None:
        app.logger.warning("Password reset by email is off: %s", reason)
        return
    app.extensions["password_reset"] = ResetSettings(
        site_url=configured_site_url(app.config), minutes=app.config["PASSWORD_RESET_MINUTES"]
    )


def is_available() -> bool:
    return "password_reset" in current_app.extensions


def settings() -> ResetSettings:
    """This app's reset settings; a 404 when the feature is off."""
    found = current_app.extensions.get("password_reset")
    if found is None:
        abort(404)
    return found


# --- The token --------------------------------------------------------------------------


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.secret_key,
        salt=TOKEN_SALT,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def fingerprint(user: User) -> str:
    """Changes with the user's session token, i.e. with every password change.

    A digest, not the token itself: the payload of a signed token is readable.
    """
    digest = hashlib.sha256(f"password-reset:{user.session_token}".encode())
    return digest.hexdigest()[:16]


def make_token(user: User) -> str:
    return serializer().dumps({"id": user.id, "fp": fingerprint(user)})


def user_for_token(token: str) -> User | None:
    """The account a current, unused, untampered reset token was made for; else None."""
    max_age = settings().minutes * 60
    try:
        claims = serializer().loads(token, max_age=max_age)
    except BadData:  # expired, tampered, malformed, or signed for another purpose
        return None
    if not isinstance(claims, dict):
        return None
    user_id, claimed = claims.get("id"), claims.get("fp")
    if type(user_id) is not int or not isinstance(claimed, str):
        return None
    user = db.session.get(User, user_id)
    if user is None or not hmac.compare_digest(fingerprint(user), claimed):
        return None  # the password has changed since: the link was used or superseded
    return user


# --- The link and the email ---------------------------------------------------------------


def site_url() -> str:
    configured = settings().site_url
    return configured if configured is not None else request.url_root.rstrip("/")


def reset_link(token: str) -> str:
    # The path inside the app, built without the request (url_for would prefix the
    # request's script root, which a client can influence too).
    path = current_app.url_map.bind("").build("auth.reset_password", {"token": token})
    return site_url() + path


def reset_email(user: User, address: str) -> Email:
    """The message with a fresh link for ``user``, to ``address``."""
    language = language_of(user)
    context = {
        "username": user.username,
        "link": reset_link(make_token(user)),
        "minutes": settings().minutes,
        "site": site_url().partition("://")[2],
        "language": language,
    }
    # In the account's language, whatever the language of the page that asked.
    with force_locale(language):
        return Email(
            (address,),
            _(SUBJECT),
            render_template("email/reset_password.txt", **context),
            render_template("email/reset_password.html", **context),
        )


def send_reset_link(address: str) -> bool:
    """Mail a reset link to the account that uses ``address``; False when none does.

    An unknown address costs the same work (lookup, token, both parts of the email)
    bar the queueing, so response times do not tell which addresses have accounts.
    Neither the address nor the token is logged.
    """
    user = User.by_email(address)
    if user is None:
        # The same work for a stand-in that is never saved (no account has id 0).
        reset_email(User(id=0, username="", session_token=""), address)
        current_app.logger.info("Password reset asked for an address no account uses")
        return False
    send_email(reset_email(user, user.email))
    current_app.logger.info("Password reset link sent to the address of user id %s", user.id)
    return True
