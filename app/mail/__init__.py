"""Mail: the one background sender, and mail from the site to its users.

There is one way mail leaves the app: the background sender (``sender``), which
``init_app`` makes when ``MAIL_SERVER`` is set. Error reports (``app.reporting``)
and the site's own messages (password reset links, ``send_email``) both go
through it. A request only puts its message on the sender's queue, so a slow or
dead SMTP server never delays it.
"""

from flask import Flask, current_app

from app.mail.sender import Email, MailSender, MailSettings

__all__ = ["Email", "init_app", "render_email", "send_email"]


def init_app(app: Flask) -> None:
    """The app's mail sender, when MAIL_SERVER is set (debug and testing included)."""
    if app.config["MAIL_SERVER"]:
        app.extensions["mail_sender"] = MailSender(
            MailSettings.from_config(app.config),
            app.config["ERROR_EMAIL_WINDOW"],
            log=app.logger.getChild("mail"),
        )


def can_send_email(app: Flask) -> bool:
    """Whether ``send_email`` delivers: a mail server, or debug mode's terminal."""
    return "mail_sender" in app.extensions or app.debug


def send_email(mail: Email) -> None:
    """Queue ``mail`` for the background sender.

    In debug mode without MAIL_SERVER the message is written to the terminal
    instead, so a developer can read it (and follow its links).
    """
    sender = current_app.extensions.get("mail_sender")
    if sender is not None:
        sender.send(mail)
    elif current_app.debug:
        current_app.logger.info(
            "No MAIL_SERVER in debug mode: this email is shown here instead of sent.\n"
            "To: %s\nSubject: %s\n\n%s",
            ", ".join(mail.to),
            mail.subject,
            mail.text,
        )
    else:
        current_app.logger.warning("Email %r not sent: MAIL_SERVER is not set", mail.subject)


def render_email(template: str, **context: object) -> str:
    """A template of an email, rendered without the pages' context processors.

    Those read the request (the layout's links): a background job sends mail
    outside any request.
    """
    return current_app.jinja_env.get_template(template).render(**context)
