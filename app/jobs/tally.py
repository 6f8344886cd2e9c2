"""What the job runner tells of its work. Counts nothing: app.metrics counts it, when on."""


class JobTally:
    def ended(self, kind: str, outcome: str, seconds: float) -> None:
        """A run of a job ended: "done", "retried", "failed" or "lost" (taken away)."""
