"""The export job: one ZIP file of JSON documents, written to disk as it is read.

The format is documented in docs/jobs.md ("The export file"). Nothing holds the
whole file, or a whole list, in memory: each list is read EXPORT_BATCH_SIZE rows
at a time (app.account_data.owned) and written into its member of the archive
as it comes, and the job reports its progress after each batch. The file is
written as ``<name>.part`` and renamed once complete: a download never finds half
a file, and an attempt that dies leaves only a part that the next one replaces.
"""

import contextlib
import io
import json
import os
import secrets
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.account_data.owned import OWNED, Row, iso
from app.auth.password_reset import configured_site_url
from app.database import utcnow
from app.extensions import db
from app.jobs import Job
from app.jobs.kinds import JobKind, JobLost, RunningJob
from app.jobs.models import EXPORT
from app.languages import N_
from app.languages.selection import language_of
from app.mail import Email, render_email, send_email
from app.models import User

FORMAT = "microblog-export"
FORMAT_VERSION = 1
EXPORTED = [owned for owned in OWNED if owned.batches is not None]
READY_SUBJECT = N_("Your Microblog data export is ready")
PRIVATE_FILE = 0o600


@contextlib.contextmanager
def json_array(archive: zipfile.ZipFile, name: str) -> Iterator[Callable[[Row], None]]:
    """A JSON array written into member ``name`` one item at a time: yields ``write(item)``."""
    with archive.open(name, "w", force_zip64=True) as member:
        text: IO[str] = io.TextIOWrapper(member, encoding="utf-8", newline="\n")
        first = True

        def write(item: Row) -> None:
            nonlocal first
            text.write("[\n  " if first else ",\n  ")
            text.write(json.dumps(item, ensure_ascii=False))
            first = False

        yield write
        text.write("[]\n" if first else "\n]\n")
        text.flush()
        text.detach()  # the member is closed by its own block


def write_document(archive: zipfile.ZipFile, name: str, document: dict[str, Any]) -> None:
    archive.writestr(name, json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def profile_of(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "about_me": user.about_me,
        "last_seen": iso(user.last_seen),
    }


def write_export(job: RunningJob) -> dict[str, Any]:
    """Write the account's export; the job's columns to set once done."""
    config = current_app.config
    user = db.session.get(User, job.user_id)
    if user is None:
        raise JobLost(f"the account of job {job.id} is gone")
    profile = profile_of(user)
    total = 1 + sum(owned.count(job.user_id) for owned in EXPORTED)
    folder = Path(config["EXPORT_DIR"])
    # Personal data: readable by the site's own user only (folder and files).
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The name on disk says nothing of the account; who may download it is in the job.
    name = f"{job.id}-{secrets.token_hex(8)}.zip"
    # Each attempt its own part: one that seemed lost and still runs writes its own.
    part = folder / f"{job.id}-{job.context.attempt}.zip.part"
    counts: dict[str, int] = {}
    try:
        descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with (
            os.fdopen(descriptor, "wb") as file,
            zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            write_document(archive, "profile.json", profile)
            done = 1
            job.progress(done, total)
            for owned in EXPORTED:
                counts[owned.name] = 0
                with json_array(archive, f"{owned.name}.json") as write:
                    for batch in owned.batches(job.user_id, config["EXPORT_BATCH_SIZE"]):
                        for row in batch:
                            write(row)
                        counts[owned.name] += len(batch)
                        done += len(batch)
                        job.progress(done, max(total, done))
            write_document(
                archive,
                "export.json",
                {
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "exported_at": iso(utcnow()),
                    "username": profile["username"],
                    "files": {"profile.json": 1} | {f"{n}.json": c for n, c in counts.items()},
                },
            )
        os.replace(part, folder / name)
    finally:
        part.unlink(missing_ok=True)
    hours = config["EXPORT_DOWNLOAD_HOURS"]
    return {"file_name": name, "expires_at": utcnow() + timedelta(hours=hours), "done": done}


def export_page_url() -> str | None:
    """The export page's address for an email, from SITE_URL or SERVER_NAME; None without."""
    site = configured_site_url(current_app.config)
    if site is None:
        return None
    return site + current_app.url_map.bind("").build("account_data.export")


def mail_when_ready(job: Job) -> None:
    user = db.session.get(User, job.user_id)
    if user is None:
        return
    language = language_of(user)
    context = {
        "username": user.username,
        "link": export_page_url(),
        "hours": current_app.config["EXPORT_DOWNLOAD_HOURS"],
        "language": language,
    }
    with force_locale(language):
        ready = Email(
            (user.email,),
            _(READY_SUBJECT),
            render_email("email/export_ready.txt", **context),
            render_email("email/export_ready.html", **context),
        )
    send_email(ready)


def remove_old_exports(user_id: int) -> None:
    """The person's earlier export files: a new export replaces them (one file at a time)."""
    folder = Path(current_app.config["EXPORT_DIR"])
    earlier = db.session.scalars(
        db.select(Job).where(
            Job.user_id == user_id, Job.kind == EXPORT, Job.file_name.is_not(None)
        )
    ).all()
    for job in earlier:
        (folder / job.file_name).unlink(missing_ok=True)
        job.file_name = None
    db.session.commit()


def remove_expired_exports() -> None:
    """The files whose download time is over (run with the recovery of lost jobs)."""
    folder = Path(current_app.config["EXPORT_DIR"])
    expired = db.session.scalars(
        db.select(Job).where(Job.file_name.is_not(None), Job.expires_at <= utcnow())
    ).all()
    for job in expired:
        (folder / job.file_name).unlink(missing_ok=True)
        job.file_name = None
    db.session.commit()


KIND = JobKind(
    EXPORT, run=write_export, on_done=mail_when_ready, maintenance=remove_expired_exports
)
