"""Command-line tools for operators (`flask --help` lists them)."""

import logging
import smtplib

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.mail.sender import Email, MailSettings, deliver
from app.reporting.reports import build_report
from app.security.redaction import config_secrets


@click.command("send-test-report")
@with_appcontext
def send_test_report() -> None:
    """Send one error report now through the configured mail settings."""
    config = current_app.config
    if not config["MAIL_SERVER"] or not config["ADMINS"]:
        raise click.ClickException("Set MAIL_SERVER and ADMINS to send error reports.")
    settings = MailSettings.from_config(config)
    try:
        raise RuntimeError("This is a test report from flask send-test-report.")
    except RuntimeError as error:
        record = logging.LogRecord(
            current_app.logger.name,
            logging.ERROR,
            __file__,
            0,
            "Test report",
            None,
            (type(error), error, error.__traceback__),
        )
    report = build_report(record, config_secrets(config))
    try:
        deliver(settings, Email(tuple(settings.recipients), report.subject, report.body))
    except (smtplib.SMTPException, OSError) as error:
        raise click.ClickException(
            f"The report was not sent to {settings.host}:{settings.port}: "
            f"{type(error).__name__}: {error}"
        ) from None
    click.echo(
        f"The SMTP server {settings.host}:{settings.port} accepted the test report "
        f"for {', '.join(settings.recipients)}."
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(send_test_report)
