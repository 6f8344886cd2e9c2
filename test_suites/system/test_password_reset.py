"""A password reset through nginx and gunicorn with their deploy/ files: no secret in any log."""

import re
from pathlib import Path

import pytest

from testkit.clients import NEW_PASSWORD, Auth, LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.nginx import (
    SITE_CONF,
    NginxUnavailable,
    find_nginx,
    nginx_server,
    with_upstream_servers,
)
from testkit.services.processes import unavailable
from testkit.services.production import production_environment, upgrade_database
from testkit.services.smtp import body_of, smtp_sink

pytestmark = pytest.mark.system

SITE_URL = "https://blog.example.com"
ADDRESS = "rosa.reset@example.com"


def test_no_log_holds_the_token_or_the_address(tmp_path: Path):
    try:
        find_nginx()
    except NginxUnavailable as reason:
        unavailable(f"this check needs nginx: {reason}")
    gunicorn_log = tmp_path / "gunicorn.out"  # its access log (standard output)
    nginx_dir = tmp_path / "nginx"
    with smtp_sink() as mail:
        environment = production_environment(
            tmp_path,
            SITE_URL=SITE_URL,
            MAIL_SERVER=mail.host,
            MAIL_PORT=str(mail.port),
            TRUSTED_PROXIES="1",
            RATELIMIT_ENABLED="0",
        )
        upgrade_database(environment)
        with gunicorn_server(environment=environment, output=gunicorn_log, workers=1) as app:
            site = with_upstream_servers(SITE_CONF.read_text(), [app.url.removeprefix("http://")])
            with nginx_server(site, nginx_dir) as proxy_url:
                browser = LiveClient(proxy_url)
                auth = Auth(browser)
                assert auth.register("rosa", email=ADDRESS).status == 302
                assert auth.logout().status == 302  # registering signed rosa in
                asked = browser.submit("/reset_password_request", {"email": ADDRESS.upper()})
                assert asked.status == 302
                [message] = mail.inbox.wait_for(1)
                text = body_of(message.get_body(("plain",)))
                link = re.search(r"https://\S+", text).group(0)
                assert link.startswith(f"{SITE_URL}/reset_password/")
                path = link.removeprefix(SITE_URL)
                token = path.rpartition("/")[2]

                # An older browser that sends the full address as Referer anyway.
                form = browser.get(path, headers={"Referer": proxy_url + path})
                assert form.status == 200
                assert form.headers["Referrer-Policy"] == "no-referrer"
                new = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
                changed = browser.submit(path, new)
                assert changed.status == 302
                assert browser.get(path).status == 200  # the used link: the friendly page

    app_log = "".join(p.read_text() for p in (tmp_path / "logs").glob("microblog.log*"))
    assert "Password reset by email for user id 1" in app_log
    access_logs = {
        "gunicorn": gunicorn_log.read_text(),
        "nginx": (nginx_dir / "access.log").read_text(),
    }
    for server, access_log in access_logs.items():
        served = [line for line in access_log.splitlines() if "/reset_password/" in line]
        print(f"\n{server}'s access log lines of the reset link:\n" + "\n".join(served))
        assert any(
            '"POST /reset_password/[masked] HTTP/1.1" 302' in line
            and line.endswith(f"rid={changed.request_id}")
            for line in served
        )
        assert any(f'"{proxy_url}/reset_password/[masked]"' in line for line in served)
    for text in (app_log, *access_logs.values()):
        assert token not in text
        assert ADDRESS not in text and ADDRESS.upper() not in text
