"""The application's Prometheus metrics, one set per app (tests build many apps)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.jobs.tally import JobTally
from app.mail.sender import SenderTally

JOB_OUTCOMES = ("done", "retried", "failed", "lost")
# From a small export to a large one, and the lost jobs' zero.
JOB_SECONDS_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)


class Instruments:
    """Every metric the app keeps, registered on the app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "microblog_http_requests",
            "Requests answered, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "microblog_http_request_duration_seconds",
            "Time from the start of a request's handling to its response, by endpoint and method.",
            ["endpoint", "method"],
            registry=self.registry,
        )
        self.exceptions = Counter(
            "microblog_unhandled_exceptions",
            "Exceptions that reached the error handler (a 500), by type.",
            ["type"],
            registry=self.registry,
        )
        self.error_emails = Counter(
            "microblog_error_emails",
            "Error report emails, by kind (report, digest) and outcome (sent, failed).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.emails = Counter(
            "microblog_emails",
            "Emails to users (password reset links), by outcome (sent, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.reports_folded = Counter(
            "microblog_error_reports_folded",
            "Repeated failures kept for a digest instead of mailed (storm control).",
            registry=self.registry,
        )
        # livesum: the reports waiting in all the workers that are alive now.
        self.report_queue = Gauge(
            "microblog_error_report_queue_length",
            "Error reports waiting for the background sender.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.jobs = Counter(
            "microblog_jobs",
            "Runs of background jobs ended, by kind and outcome (done, retried, failed, lost).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "microblog_job_duration_seconds",
            "Time a run of a background job took, by kind.",
            ["kind"],
            buckets=JOB_SECONDS_BUCKETS,
            registry=self.registry,
        )
        # Shown at 0 from the start, so that a rate() over them has a beginning.
        for outcome in ("sent", "failed"):
            for kind in ("report", "digest"):
                self.error_emails.labels(kind, outcome)
            self.emails.labels(outcome)


class ReportTally(SenderTally):
    """The mail sender's work, counted: error reports and digests, and ordinary emails."""

    def __init__(self, instruments: Instruments) -> None:
        self.instruments = instruments

    def queued(self) -> None:
        self.instruments.report_queue.inc()

    def taken(self) -> None:
        self.instruments.report_queue.dec()

    def mailed(self, kind: str) -> None:
        self.count(kind, "sent")

    def folded(self) -> None:
        self.instruments.reports_folded.inc()

    def failed(self, kind: str) -> None:
        self.count(kind, "failed")

    def count(self, kind: str, outcome: str) -> None:
        if kind == "email":
            self.instruments.emails.labels(outcome).inc()
        else:
            self.instruments.error_emails.labels(kind, outcome).inc()


class JobMetrics(JobTally):
    """The job runner's work, counted."""

    def __init__(self, instruments: Instruments) -> None:
        self.instruments = instruments

    def ended(self, kind: str, outcome: str, seconds: float) -> None:
        self.instruments.jobs.labels(kind, outcome).inc()
        if outcome != "lost":
            self.instruments.job_duration.labels(kind).observe(seconds)
