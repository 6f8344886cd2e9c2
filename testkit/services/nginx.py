"""A private nginx (Debian's package) on a free loopback port.

    with nginx_server(site_conf, workdir) as url:   # http://127.0.0.1:<port>
        ...

``site_conf`` is the text of a site file such as deploy/nginx/microblog.conf;
its ``listen`` line is replaced by a free loopback port, and its ``access_log``
(if any) writes to ``workdir/access.log`` in the site's own format. nginx keeps
its pid, logs and temporary files in ``workdir`` and runs in the foreground
(stopped at the end of the block).
"""

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from testkit.services.processes import ServiceUnavailable, find_program, serving_on_free_port

# The site file the project deploys, which the system tests serve as it is.
SITE_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "microblog.conf"

MAIN_CONF = """\
daemon off;
{user}
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format with_request_id '$remote_addr [$time_local] "$request" $status $request_id';
    access_log {workdir}/access.log with_request_id;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/site.conf;
}}
"""


class NginxUnavailable(ServiceUnavailable):
    """nginx is not installed; the message says how to install it."""


def find_nginx() -> str:
    """The path of the nginx binary; ``NginxUnavailable`` when it is missing."""
    return find_program("nginx", "nginx", NginxUnavailable)


def with_upstream_servers(site_conf: str, servers: list[str]) -> str:
    """Replace the ``server host:port ...;`` lines of the upstream block."""
    lines = re.findall(r"^[ \t]*server [0-9.]+:\d+[^;\n]*;\n", site_conf, re.MULTILINE)
    if not lines:
        raise ValueError("the site configuration has no upstream server lines")
    indent = re.match(r"[ \t]*", lines[0]).group(0)
    site_conf = site_conf.replace(lines[0], "".join(f"{indent}server {s};\n" for s in servers))
    for line in lines[1:]:
        site_conf = site_conf.replace(line, "")
    return site_conf


@contextlib.contextmanager
def nginx_server(site_conf: str, workdir: Path, start_timeout: float = 30) -> Iterator[str]:
    """Run nginx with ``site_conf`` listening on a free loopback port; yield its URL."""
    binary = find_nginx()
    workdir.mkdir(parents=True, exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    (workdir / "nginx.conf").write_text(MAIN_CONF.format(workdir=workdir, user=user))
    error_log = workdir / "error.log"

    def command_for(port: int) -> list[str]:
        listen = rf"\1listen 127.0.0.1:{port};"
        site = re.sub(r"^(\s*)listen\s+[^;]+;", listen, site_conf, count=1, flags=re.M)
        site = re.sub(r"^(\s*access_log)\s+\S+", rf"\1 {workdir}/access.log", site, flags=re.M)
        (workdir / "site.conf").write_text(site)
        config = str(workdir / "nginx.conf")
        return [binary, "-p", str(workdir), "-e", str(error_log), "-c", config]

    # nginx's own error log and anything it prints share one file: one place to read.
    with serving_on_free_port("nginx", command_for, error_log, start_timeout) as server:
        yield server.url
