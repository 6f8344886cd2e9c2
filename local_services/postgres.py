"""A private PostgreSQL server for one test session, benchmark or check.

    with private_postgres() as url:   # postgresql://postgres:<random>@127.0.0.1:<port>/postgres
        ...

The server uses the ``initdb``/``postgres`` found on PATH (or Debian's
/usr/lib/postgresql/<version>/bin), keeps its data in a temporary directory,
listens only on 127.0.0.1 on a port the OS picked, trades durability for speed
(fsync off) and is stopped and deleted when the block ends. PostgreSQL refuses to
run as root, so under root it runs as the ``postgres`` system user.
"""

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from local_services.ports import free_port
from local_services.processes import dies_with_parent

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def find_binaries() -> Path:
    """The directory holding ``initdb`` and ``postgres`` (where ``pg_ctl`` lives too)."""
    candidates = [Path(found).resolve().parent for found in [shutil.which("initdb")] if found]
    candidates += [Path(c) for c in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    raise PostgresUnavailable("initdb/postgres not found on PATH nor in /usr/lib/postgresql")


class _Runner:
    """Runs PostgreSQL's programs as the user allowed to run them."""

    def __init__(self) -> None:
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root and there is no 'postgres' system user to run the server"
                ) from None

    def own(self, path: Path) -> None:
        if self.user:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def _as_user(self, kwargs: dict) -> dict:
        if self.user:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return kwargs

    def popen(self, command: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(command, **self._as_user(kwargs))  # noqa: S603 - fixed commands

    def run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own fixed commands
            command, capture_output=True, text=True, check=False, **self._as_user(kwargs)
        )


@contextlib.contextmanager
def private_postgres(start_timeout: float = 60) -> Iterator[str]:
    """Start a throwaway server; yield the URL of its ``postgres`` database."""
    binaries = find_binaries()
    runner = _Runner()
    workdir = Path(tempfile.mkdtemp(prefix="microblog-pg-"))
    try:
        runner.own(workdir)
        data, password_file = workdir / "data", workdir / "password"
        password = secrets.token_urlsafe(24)
        password_file.write_text(password + "\n")
        runner.own(password_file)
        initdb = runner.run(
            [
                str(binaries / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                "postgres",
                "--pwfile",
                str(password_file),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            cwd=workdir,
        )
        password_file.unlink()
        if initdb.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {initdb.stderr.strip()[-500:]}")
        server, url = _start(runner, binaries, workdir, data, password, start_timeout)
        try:
            yield url
        finally:
            _stop(server)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _start(
    runner: _Runner, binaries: Path, workdir: Path, data: Path, password: str, timeout: float
) -> tuple[subprocess.Popen, str]:
    """Start on a free port (trying again if another process took it first).

    The server is our child (not daemonised by pg_ctl), so it ends with us even
    when we are killed before our clean-up runs.
    """
    settings = {**SERVER_SETTINGS, "unix_socket_directories": f"'{workdir}'"}
    for _attempt in range(3):
        port = free_port()
        with (data / "postgresql.conf").open("a") as conf:
            for name, value in {**settings, "port": str(port)}.items():
                conf.write(f"{name} = {value}\n")
        with (workdir / "server.log").open("ab") as log:
            server = runner.popen(
                [str(binaries / "postgres"), "-D", str(data)],
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                # SIGQUIT: immediate shutdown, nothing to keep in a throwaway server.
                preexec_fn=dies_with_parent(signal.SIGQUIT),  # noqa: PLW1509
            )
        url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
        if _wait_until_accepting(server, url, timeout):
            return server, url
        _stop(server)
    log_tail = (workdir / "server.log").read_text(errors="replace")[-800:]
    raise PostgresUnavailable(f"the server did not start: {log_tail}")


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGQUIT)  # immediate shutdown
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _wait_until_accepting(server: subprocess.Popen, url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while server.poll() is None:
        try:
            psycopg.connect(url, connect_timeout=5).close()
            return True
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
    return False


def database_url(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``server_url``."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(server_url: str, name: str) -> str:
    """(Re)create an empty database ``name``; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
