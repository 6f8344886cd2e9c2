"""Prometheus metrics (METRICS_ENABLED=1): requests, durations, failures, error reports.

Requests are counted through Flask's signals: ``request_started`` starts the
clock, ``request_finished`` counts the response (error pages included) and
``got_request_exception`` the exceptions that became a 500. The mail sender
counts its emails (error reports and digests, and mail to users), folded repeats
and report queue through its tally; the job runner its runs of jobs through its own. ``/metrics``
(``endpoint``) shows the numbers to the allowed scrapers.
"""

import time

from flask import Flask, g, got_request_exception, request, request_finished, request_started
from werkzeug.wrappers import Response

from app.metrics import endpoint
from app.metrics.instruments import JOB_OUTCOMES, Instruments, JobMetrics, ReportTally
from app.reporting.reports import type_name

# Any other method a client invents is counted as "other": label values stay few.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_app(app: Flask) -> None:
    if not app.config["METRICS_ENABLED"]:
        return
    instruments = Instruments()
    app.extensions["metrics"] = instruments
    request_started.connect(start_clock, app)
    request_finished.connect(count_response, app)
    got_request_exception.connect(count_exception, app)
    sender = app.extensions.get("mail_sender")  # app.mail's, for reports and other mail
    if sender is not None:
        sender.tally = ReportTally(instruments)
    jobs = app.extensions.get("jobs")
    if jobs is not None:
        jobs.tally = JobMetrics(instruments)
        for kind in jobs.kinds:
            for outcome in JOB_OUTCOMES:
                instruments.jobs.labels(kind, outcome)  # shown at 0 from the start
    app.register_blueprint(endpoint.bp)


def start_clock(sender: Flask, **extra: object) -> None:
    g.metrics_started = time.perf_counter()


def count_response(sender: Flask, response: Response, **extra: object) -> None:
    instruments: Instruments = sender.extensions["metrics"]
    endpoint_name = request.endpoint or "unmatched"
    method = request.method if request.method in KNOWN_METHODS else "other"
    instruments.requests.labels(endpoint_name, method, str(response.status_code)).inc()
    started = g.pop("metrics_started", None)
    if started is not None:
        elapsed = time.perf_counter() - started
        instruments.duration.labels(endpoint_name, method).observe(elapsed)


def count_exception(sender: Flask, exception: BaseException, **extra: object) -> None:
    sender.extensions["metrics"].exceptions.labels(type_name(type(exception))).inc()
