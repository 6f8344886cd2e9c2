"""Failure reporting: everything that turns a failure into a log line or an email.

Request ids (``request_ids``), redaction of secrets (``redaction``), building a
report while the request is live (``reports``), the background mail sender with
storm control (``mailer``), the log file (``log_files``) and the operator's
``flask send-test-report`` (``commands``). ``init_app`` wires them into an app;
the mail sender itself is made by ``app.mail``, which shares it with other mail.
"""

import logging

from flask import Flask
from flask.logging import default_handler

from app.reporting import commands, request_ids
from app.reporting.log_files import log_line_handler
from app.reporting.mailer import ReportQueueHandler
from app.reporting.redaction import config_secrets
from app.reporting.request_ids import RequestIdFilter


def init_app(app: Flask) -> None:
    """Request ids always; log file and error emails outside debug and testing."""
    request_ids.init_app(app)
    commands.init_app(app)
    if app.debug or app.testing:
        return
    logger = app.logger
    # app.logger is shared by every app of this name in the process: replace the
    # handlers a previous create_app() installed instead of stacking more.
    for handler in [h for h in logger.handlers if getattr(h, "microblog", False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.removeHandler(default_handler)
    logger.setLevel(logging.INFO)

    app_secrets = config_secrets(app.config)
    install(logger, log_line_handler(app, app_secrets))
    sender = app.extensions.get("mail_sender")  # made by app.mail when MAIL_SERVER is set
    if sender is not None:
        if not app.config["ADMINS"]:
            logger.warning("MAIL_SERVER is set but ADMINS is empty: no error emails")
        else:
            mail = ReportQueueHandler(sender, app_secrets)
            mail.setLevel(logging.ERROR)
            install(logger, mail)

    logger.info("Microblog startup")


def install(logger: logging.Logger, handler: logging.Handler) -> None:
    handler.addFilter(RequestIdFilter())
    handler.microblog = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
