"""The deletion job: everything an account owns goes in one transaction, or nothing does.

The request that asks for it has already signed the person out everywhere, in
the transaction that queued the job (app.account_data.routes), and no one can
sign in to the account while the job is under way (``deletion_under_way``). The
job locks the account's row (PostgreSQL: FOR UPDATE; SQLite has one writer at a
time anyway), removes what ``OWNED`` lists and then the account, and commits
once: a failure rolls all of it back, and the runner tries again or gives up
with the account whole. A write that raced it (a post sent from a page loaded
before) either waits for the lock and then fails on the missing account, which
the request answers without a 500 (app.account_data.races), or committed first,
and its row is removed with the rest on the next try. The name is free for
anyone to take once the job commits (docs/jobs.md says why).
"""

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.account_data.owned import OWNED, export_files
from app.extensions import db
from app.jobs import Job
from app.jobs.kinds import JobKind, RunningJob
from app.jobs.models import ACCOUNT_DELETION
from app.languages import N_
from app.languages.selection import language_of
from app.mail import Email, render_email, send_email
from app.models import User

DELETED_SUBJECT = N_("Your Microblog account has been deleted")
NOT_DELETED_SUBJECT = N_("Your Microblog account was not deleted")
# A racing write that committed a row of the account after its rows were removed
# makes the account's own removal fail: the transaction is run again, with that row.
RACES_TRIED = 3


def deleted_email(user: User, counts: dict[str, int]) -> Email:
    language = language_of(user)
    context = {"username": user.username, "counts": counts, "language": language}
    with force_locale(language):
        return Email(
            (user.email,),
            _(DELETED_SUBJECT),
            render_email("email/account_deleted.txt", **context),
            render_email("email/account_deleted.html", **context),
        )


def remove_account(user_id: int, log: logging.Logger) -> None:
    """Remove the account and all it owns in one transaction; mail the person after it."""
    user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        return  # an earlier attempt committed: nothing left to do
    counts = {owned.name: owned.count(user_id) for owned in OWNED}
    farewell = deleted_email(user, counts)  # made while the account's rows are there
    files = export_files(user_id)
    for owned in OWNED:
        owned.remove(user_id)
    db.session.execute(delete(User).where(User.id == user_id))
    db.session.commit()
    for path in files:
        path.unlink(missing_ok=True)
    log.info("Account deleted: user id %d (%s)", user_id, counts)
    send_email(farewell)


def delete_account(job: RunningJob) -> dict[str, object]:
    log = current_app.logger
    for attempt in range(1, RACES_TRIED + 1):
        try:
            remove_account(job.user_id, log)
        except IntegrityError:
            db.session.rollback()
            if attempt == RACES_TRIED:
                raise
            log.info("Account deletion of user id %d raced a write: once more", job.user_id)
        else:
            break
    return {}  # the job's row went with the account


def mail_not_deleted(job: Job) -> None:
    user = db.session.get(User, job.user_id)
    if user is None:
        return
    language = language_of(user)
    context = {"username": user.username, "language": language}
    with force_locale(language):
        not_deleted = Email(
            (user.email,),
            _(NOT_DELETED_SUBJECT),
            render_email("email/account_not_deleted.txt", **context),
            render_email("email/account_not_deleted.html", **context),
        )
    send_email(not_deleted)


KIND = JobKind(ACCOUNT_DELETION, run=delete_account, on_failed=mail_not_deleted)
