"""A password reset through gunicorn with deploy/gunicorn.conf.py: no secret in any log."""

import re
from pathlib import Path

import pytest

from testkit.clients import NEW_PASSWORD, Auth, LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.production import production_environment, upgrade_database
from testkit.services.smtp import body_of, smtp_sink

pytestmark = pytest.mark.system

SITE_URL = "https://blog.example.com"
ADDRESS = "rosa.reset@example.com"


def test_the_access_log_and_the_app_log_hold_neither_the_token_nor_the_address(
    tmp_path: Path,
):
    output = tmp_path / "gunicorn.out"  # gunicorn's access log (standard output)
    with smtp_sink() as mail:
        environment = production_environment(
            tmp_path,
            SITE_URL=SITE_URL,
            MAIL_SERVER=mail.host,
            MAIL_PORT=str(mail.port),
            RATELIMIT_ENABLED="0",
        )
        upgrade_database(environment)
        with gunicorn_server(environment=environment, output=output, workers=1) as server:
            browser = LiveClient(server.url)
            assert Auth(browser).register("rosa", email=ADDRESS).status == 302
            asked = browser.submit("/reset_password_request", {"email": ADDRESS.upper()})
            assert asked.status == 302
            [message] = mail.inbox.wait_for(1)
            link = re.search(r"https://\S+", body_of(message.get_body(("plain",)))).group(0)
            assert link.startswith(f"{SITE_URL}/reset_password/")
            path = link.removeprefix(SITE_URL)
            token = path.rpartition("/")[2]

            # An older browser that sends the full address as Referer anyway.
            form = browser.get(path, headers={"Referer": server.url + path})
            assert form.status == 200
            assert form.headers["Referrer-Policy"] == "no-referrer"
            changed = browser.submit(path, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
            assert changed.status == 302
            assert browser.get(path).status == 200  # the used link: the friendly page
            request_id = changed.request_id

    access_log = output.read_text()
    app_log = "".join(p.read_text() for p in (tmp_path / "logs").glob("microblog.log*"))
    served = [line for line in access_log.splitlines() if "/reset_password/" in line]
    print("\nAccess log lines of the reset link:\n" + "\n".join(served))
    assert any(
        line.startswith("127.0.0.1")
        and '"POST /reset_password/[masked] HTTP/1.1" 302' in line
        and line.endswith(f"rid={request_id}")
        for line in served
    )
    assert any(f'"{server.url}/reset_password/[masked]"' in line for line in served)
    assert "Password reset by email for user id 1" in app_log
    for text in (access_log, app_log):
        assert token not in text
        assert ADDRESS not in text and ADDRESS.upper() not in text
