"""A private Redis (Debian's redis-server) on a free loopback port, without persistence.

with redis_server() as url:   # redis://127.0.0.1:<port>/0
    ...
with redis_server(port=port):  # the same address again, e.g. after an outage
    ...
"""

import contextlib
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from testkit.services.processes import ServiceUnavailable, find_program, running_on_free_port


class RedisUnavailable(ServiceUnavailable):
    """redis-server is not installed or did not start; the message says why."""


def find_redis_server() -> str:
    return find_program("redis-server", "redis-server", RedisUnavailable)


def ping(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a Redis server answers PING on ``port`` (spoken in RESP, no client library)."""
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            connection.sendall(b"*1\r\n$4\r\nPING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(start_timeout: float = 30, port: int | None = None) -> Iterator[str]:
    """Start a throwaway Redis; yield its URL (database 0); stop it at the end.

    On a free port, or on ``port`` (one try: a server that comes back where
    clients expect it).
    """
    binary = find_redis_server()
    with tempfile.TemporaryDirectory(prefix="microblog-redis-") as folder:
        workdir = Path(folder)

        def command_for(port: int) -> list[str]:
            command = [binary, "--bind", "127.0.0.1", "--port", str(port)]
            # No snapshots, no append-only file: nothing is kept after the block.
            return [*command, "--save", "", "--appendonly", "no", "--dir", str(workdir)]

        log = workdir / "redis.log"
        with running_on_free_port(
            "redis-server",
            command_for,
            ping,
            log,
            start_timeout,
            port,
            failure=RedisUnavailable,
            cwd=workdir,
        ) as (port, _server):
            yield f"redis://127.0.0.1:{port}/0"
