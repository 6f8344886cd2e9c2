"""A private PostgreSQL server for one test session, benchmark or check.

    with private_postgres() as url:   # postgresql://postgres:<random>@127.0.0.1:<port>/postgres
        ...

The server uses the ``initdb``/``pg_ctl`` found on PATH (or Debian's
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
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from local_services.ports import free_port

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
    """The directory holding ``initdb`` and ``pg_ctl``."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "pg_ctl").exists() and Path(candidate, "initdb").exists():
            return Path(candidate)
    raise PostgresUnavailable("initdb/pg_ctl not found on PATH nor in /usr/lib/postgresql")


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

    def run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
        if self.user:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return subprocess.run(  # noqa: S603 - our own fixed commands
            command, capture_output=True, text=True, check=False, **kwargs
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
        try:
            yield _start(runner, binaries, workdir, data, password, start_timeout)
        finally:  # also when it started but never accepted connections
            runner.run(
                [str(binaries / "pg_ctl"), "--pgdata", str(data), "--mode", "immediate", "stop"],
                cwd=workdir,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _start(
    runner: _Runner, binaries: Path, workdir: Path, data: Path, password: str, timeout: float
) -> str:
    """Start on a free port (trying again if another process took it first)."""
    settings = {**SERVER_SETTINGS, "unix_socket_directories": f"'{workdir}'"}
    for _attempt in range(3):
        port = free_port()
        with (data / "postgresql.conf").open("a") as conf:
            for name, value in {**settings, "port": str(port)}.items():
                conf.write(f"{name} = {value}\n")
        started = runner.run(
            [
                str(binaries / "pg_ctl"),
                "--pgdata",
                str(data),
                "--log",
                str(workdir / "server.log"),
                "--wait",
                "--timeout",
                str(int(timeout)),
                "start",
            ],
            cwd=workdir,
        )
        if started.returncode == 0:
            url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
            _wait_until_accepting(url, timeout)
            return url
    log = (workdir / "server.log").read_text(errors="replace")[-800:]
    raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr.strip()} {log}")


def _wait_until_accepting(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


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
