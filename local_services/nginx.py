"""A private nginx (Debian's package) on a free loopback port.

    with nginx_server(site_conf, workdir) as url:   # http://127.0.0.1:<port>
        ...

``site_conf`` is the text of a site file such as deploy/nginx/microblog.conf;
its ``listen`` line is replaced by a free loopback port. nginx keeps its pid,
logs and temporary files in ``workdir`` and runs in the foreground (stopped at
the end of the block). When nginx is missing and we are root on Debian, it is
installed with apt-get.
"""

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from local_services.processes import serving_on_free_port

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


class NginxUnavailable(RuntimeError):
    """nginx is not installed and cannot be installed here; the message says why."""


@contextlib.contextmanager
def services_not_started() -> Iterator[None]:
    """Keep the package from starting its system-wide nginx (port 80, every interface).

    Debian's maintainer scripts ask /usr/sbin/policy-rc.d whether they may start a
    service; exit status 101 means no. Container images usually ship one already.
    """
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        yield
        return
    policy.write_text(
        "#!/bin/sh\n# Written by local_services.nginx while installing nginx.\nexit 101\n"
    )
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink()


def find_or_install_nginx() -> str:
    """The path of the nginx binary, installing Debian's package when missing."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise NginxUnavailable(
            "nginx is not installed (install it with `apt-get install nginx` as root)"
        )
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with services_not_started():
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "nginx"]):
            result = subprocess.run(  # noqa: S603 - fixed commands
                command, env=environment, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise NginxUnavailable(f"`{' '.join(command)}` failed: {result.stderr[-500:]}")
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if not found:
        raise NginxUnavailable("apt-get installed nginx but no nginx binary was found")
    return found


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
    binary = find_or_install_nginx()
    workdir.mkdir(parents=True, exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    (workdir / "nginx.conf").write_text(MAIN_CONF.format(workdir=workdir, user=user))
    error_log = workdir / "error.log"

    def command_for(port: int) -> list[str]:
        listen = rf"\1listen 127.0.0.1:{port};"
        site = re.sub(r"^(\s*)listen\s+[^;]+;", listen, site_conf, count=1, flags=re.M)
        (workdir / "site.conf").write_text(site)
        return [
            binary,
            "-p",
            str(workdir),
            "-e",
            str(error_log),
            "-c",
            str(workdir / "nginx.conf"),
        ]

    # nginx's own error log and anything it prints share one file: one place to read.
    with serving_on_free_port("nginx", command_for, error_log, start_timeout) as url:
        yield url
