"""The data pages: export my data (a job, its progress, the download), delete my account.

Both start a job (app.jobs.start), at most one of a kind under way per person:
the database's partial unique index refuses a second, however the requests race.
"""

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import jobs
from app.account_data.export import remove_old_exports
from app.account_data.forms import DeleteAccountForm, StartExportForm
from app.account_data.owned import OWNED
from app.auth.sessions import end_every_login, sign_out
from app.database import utcnow
from app.extensions import db
from app.jobs.models import ACCOUNT_DELETION, DONE, EXPORT, FAILED, QUEUED, RUNNING, Job
from app.jobs.runner import note_in_language, recover_stalled
from app.languages import N_
from app.security.rate_limits import limit_password_attempts

bp = Blueprint("account_data", __name__, url_prefix="/account")

# The largest id an INTEGER column holds: beyond it PostgreSQL refuses the query.
MAX_JOB_ID = 2**31 - 1
EXPORT_UNDER_WAY = N_("An export of your data is already being made.")
DELETION_UNDER_WAY = N_("Your account is already being deleted.")


def export_status(job: Job | None) -> dict[str, Any]:
    """What the export page says of the person's latest export (the page and its JSON)."""
    if job is None:
        return {"state": "none", "percent": 0, "message": "", "finished": True}
    message = {
        QUEUED: _("Waiting for its turn."),
        RUNNING: _("Writing your export."),
        DONE: _("Your export is ready."),
        FAILED: _("Your export could not be made. The site's administrators have been told."),
    }[job.state]
    note = note_in_language(job)  # an interruption or a failure before this attempt
    if note:
        message = f"{note} {message}"
    ready = job.state == DONE and job.file_name is not None and job.expires_at > utcnow()
    if job.state == DONE and not ready:
        message = _("The download time of your last export is over: make a new one.")
    return {
        "state": job.state,
        "percent": job.percent,
        "message": message,
        "finished": not job.is_active,
        "download": url_for("account_data.download", job_id=job.id) if ready else None,
    }


def latest_export() -> Job | None:
    """The person's latest export, after settling any of their jobs that lost its worker."""
    recover_stalled(user_id=current_user.id)
    return jobs.latest_job(EXPORT, current_user.id)


@bp.route("/export", methods=["GET", "POST"])
@login_required
def export() -> Response | str:
    if request.method == "POST":
        if StartExportForm().validate_on_submit():
            if jobs.start(EXPORT, current_user.id) is None:
                flash(_(EXPORT_UNDER_WAY), "info")
            else:
                remove_old_exports(current_user.id)  # one file at a time, the newest
                flash(_("Your export has started. We will email you when it is ready."), "success")
        return redirect(url_for("account_data.export"))
    job = latest_export()
    return render_template(
        "account_data/export.html",
        title=_("Export your data"),
        job=job,
        status=export_status(job),
        form=StartExportForm(formdata=None),
        hours=current_app.config["EXPORT_DOWNLOAD_HOURS"],
    )


@bp.route("/export/status")
@login_required
def export_progress() -> dict[str, Any]:
    """The export's progress for the page's script (static/job-progress.js)."""
    return export_status(latest_export())


@bp.route("/export/<int:job_id>/download")
@login_required
def download(job_id: int) -> Response:
    job = db.session.get(Job, job_id) if job_id <= MAX_JOB_ID else None
    # Someone else's export, or none, or no longer: the same 404 as a page that
    # does not exist, which tells nobody whose exports there are.
    if job is None or job.user_id != current_user.id or job.kind != EXPORT:
        abort(404)
    if job.state != DONE or job.file_name is None or job.expires_at <= utcnow():
        abort(404)
    path = Path(current_app.config["EXPORT_DIR"]) / job.file_name
    if not path.is_file():
        abort(404)
    name = f"microblog-{current_user.username}-{job.finished_at:%Y-%m-%d}.zip"
    response = send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)
    # Personal data: no cache on the way keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def what_would_be_removed(user_id: int) -> list[tuple[str, int, str]]:
    return [(_(owned.label), owned.count(user_id), _(owned.detail)) for owned in OWNED]


@bp.route("/delete", methods=["GET", "POST"])
@login_required
@limit_password_attempts
def delete_account() -> Response | str:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    posted = request.method == "POST"
    form = DeleteAccountForm(user) if posted else DeleteAccountForm(formdata=None)
    if form.validate_on_submit():
        address = user.email
        # Signed out everywhere with the job, in one transaction: from now on no
        # browser acts for the account, and no one can sign in to it (app.auth).
        job = jobs.start(ACCOUNT_DELETION, user.id, along=lambda: end_every_login(user))
        sign_out()
        if job is None:
            flash(_(DELETION_UNDER_WAY), "info")
        else:
            flash(
                _(
                    "Your account is being deleted. A last email to %(address)s will say "
                    "when it is done.",
                    address=address,
                ),
                "info",
            )
        return redirect(url_for("auth.login"))
    return render_template(
        "account_data/delete.html",
        title=_("Delete your account"),
        form=form,
        removed=what_would_be_removed(user.id),
    )
