"""Failure reporting: everything that turns a failure into a log line or an email.

Request ids (``request_ids``), redaction of secrets (``redaction``), building a
report while the request is live (``reports``), the background mail sender with
storm control (``mailer``), the log file (``log_files``, as text or as JSON lines:
``json_lines``), Sentry (``sentry``, loaded only with a SENTRY_DSN) and the
operator's ``flask send-test-report`` (``commands``). ``init_app`` wires them
into an app; the mail sender itself is made by ``app.mail``, which shares it
with other mail. Background jobs are reported the same way (``jobs``,
``reporting_job``): their lines and reports name the job where a request's name
the request.
"""

import contextlib
import functools
import logging
from collections.abc import Iterator

from flask import Flask
from flask.logging import default_handler

from app.reporting import commands, json_lines, request_ids
from app.reporting.emails import ReportQueueHandler
from app.reporting.jobs import JobContext, running_job
from app.reporting.log_files import log_line_handler, note_handler_failure
from app.reporting.request_ids import RequestIdFilter
from app.security.redaction import config_secrets


def init_app(app: Flask) -> None:
    """Request ids always; log file, error emails and Sentry outside debug and testing."""
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
    if app.config["LOG_FORMAT"] == "json":
        json_lines.init_app(app)
    sender = app.extensions.get("mail_sender")  # made by app.mail when MAIL_SERVER is set
    if sender is not None:
        if not app.config["ADMINS"]:
            logger.warning("MAIL_SERVER is set but ADMINS is empty: no error emails")
        else:
            mail = ReportQueueHandler(sender, app_secrets)
            mail.setLevel(logging.ERROR)
            install(logger, mail)
    if app.config["SENTRY_DSN"]:
        # Imported here: without a DSN, nothing of the Sentry SDK is even loaded.
        from app.reporting import sentry

        sentry.init_app(app, app_secrets)

    logger.info("Microblog startup")


def install(logger: logging.Logger, handler: logging.Handler) -> None:
    handler.addFilter(RequestIdFilter())
    # A record a handler cannot write becomes one line on standard error, never
    # logging's bare "--- Logging error ---" with the handler's traceback.
    handler.handleError = functools.partial(note_handler_failure, handler)  # type: ignore[method-assign]
    handler.microblog = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


@contextlib.contextmanager
def reporting_job(app: Flask, job: JobContext) -> Iterator[None]:
    """Report what fails in this block as ``job``'s failure: its log lines, email, Sentry event."""
    with running_job(job), contextlib.ExitStack() as stack:
        if "sentry" in app.extensions:
            from app.reporting import sentry

            stack.enter_context(sentry.job_scope(job))
        yield
