"""Storm control: the first error report of a kind is mailed at once, its repeats in a digest."""

from dataclasses import dataclass, field
from typing import Protocol

MAX_IDS_IN_DIGEST = 50


class AdminReport(Protocol):
    """What storm control reads of an error report (app.reporting.reports.Report)."""

    subject: str
    body: str
    fingerprint: str
    request_id: str


@dataclass
class Storm:
    """Repeats of one failure seen since its first report was mailed."""

    first: AdminReport
    ends_at: float
    repeats: list[AdminReport] = field(default_factory=list)


class StormControl:
    """Mail the first failure of a kind at once; count its repeats for a digest."""

    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self.storms: dict[str, Storm] = {}

    def admit(self, report: AdminReport, now: float) -> bool:
        """True when ``report`` should be mailed now, False when it was counted."""
        storm = self.storms.get(report.fingerprint)
        if storm is None or now >= storm.ends_at:
            self.storms[report.fingerprint] = Storm(first=report, ends_at=now + self.window)
            return True
        storm.repeats.append(report)
        return False

    def next_deadline(self) -> float | None:
        return min((storm.ends_at for storm in self.storms.values()), default=None)

    def close_windows(self, now: float, everything: bool = False) -> list[tuple[str, str]]:
        """End the windows that are over; return (subject, body) of the digests due."""
        digests = []
        for fingerprint, storm in list(self.storms.items()):
            if everything or now >= storm.ends_at:
                del self.storms[fingerprint]
                if storm.repeats:
                    digests.append(self.digest(storm))
        return digests

    def digest(self, storm: Storm) -> tuple[str, str]:
        count = len(storm.repeats)
        ids = [report.request_id for report in storm.repeats[:MAX_IDS_IN_DIGEST]]
        more = f" (and {count - len(ids)} more)" if count > len(ids) else ""
        subject = f"{storm.first.subject} (repeated {count} more times)"
        body = "\n".join(
            [
                f"The failure below happened {count} more times within {self.window:g} seconds "
                f"after it was first reported (request id {storm.first.request_id}).",
                f"Request ids of the repeats: {', '.join(ids)}{more}",
                "",
                "The most recent occurrence:",
                "",
                storm.repeats[-1].body,
            ]
        )
        return subject, body
