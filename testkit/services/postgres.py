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
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from testkit.services.processes import SETUP_SCRIPT, ServiceUnavailable, running_on_free_port

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}
# SIGQUIT: immediate shutdown, nothing to keep in a throwaway server.
IMMEDIATE_SHUTDOWN = signal.SIGQUIT


class PostgresUnavailable(ServiceUnavailable):
    """PostgreSQL cannot be started here; the message says why."""


def libpq_url(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL in the spelling psycopg.connect() takes."""
    return url.strip().replace("postgresql+psycopg://", "postgresql://", 1)


def find_binaries() -> Path:
    """The directory holding ``initdb`` and ``postgres``."""
    candidates = [Path(found).resolve().parent for found in [shutil.which("initdb")] if found]
    candidates += [Path(c) for c in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    raise PostgresUnavailable(
        "PostgreSQL's initdb/postgres are not on PATH nor in /usr/lib/postgresql "
        f"(Debian package postgresql; run {SETUP_SCRIPT})"
    )


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

    def as_user(self, **kwargs: Any) -> dict[str, Any]:
        if self.user:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return kwargs

    def run(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own fixed commands
            command, capture_output=True, text=True, check=False, **self.as_user(**kwargs)
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
        with _serving(runner, binaries, workdir, data, password, start_timeout) as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _serving(
    runner: _Runner, binaries: Path, workdir: Path, data: Path, password: str, timeout: float
) -> Iterator[str]:
    """Run the server on a free port; yield its URL.

    The server is our child (not daemonised by pg_ctl), so it ends with us even
    when we are killed before our clean-up runs.
    """
    settings = {**SERVER_SETTINGS, "unix_socket_directories": f"'{workdir}'"}

    def url_of(port: int) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"

    def command_for(port: int) -> list[str]:
        # Appended on every try: the last line naming a setting wins.
        with (data / "postgresql.conf").open("a") as conf:
            for name, value in {**settings, "port": str(port)}.items():
                conf.write(f"{name} = {value}\n")
        return [str(binaries / "postgres"), "-D", str(data)]

    with running_on_free_port(
        "postgres",
        command_for,
        lambda port: _accepts(url_of(port)),
        workdir / "server.log",
        timeout,
        stop_signal=IMMEDIATE_SHUTDOWN,
        failure=PostgresUnavailable,
        **runner.as_user(cwd=workdir),
    ) as (port, _server):
        yield url_of(port)


def _accepts(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError:
        return False
    return True


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
