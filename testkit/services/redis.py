"""A private Redis (Debian's redis-server) on a free loopback port, without persistence.

with redis_server() as url:   # redis://127.0.0.1:<port>/0
    ...
with redis_server(port=port):  # the same address again, e.g. after an outage
    ...
"""

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from testkit.services.processes import (
    SETUP_SCRIPT,
    ServiceUnavailable,
    came_up,
    free_port,
    output_tail,
    start_process,
    stop_process,
)


class RedisUnavailable(ServiceUnavailable):
    """redis-server is not installed or did not start; the message says why."""


def find_redis_server() -> str:
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/sbin")
    if not found:
        raise RedisUnavailable(
            f"redis-server is not installed (Debian package redis-server; run {SETUP_SCRIPT})"
        )
    return found


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
    wanted = port
    with tempfile.TemporaryDirectory(prefix="microblog-redis-") as folder:
        workdir = Path(folder)
        output = workdir / "redis.log"
        for _attempt in range(1 if wanted else 3):
            port = wanted or free_port()
            command = [binary, "--bind", "127.0.0.1", "--port", str(port)]
            # No snapshots, no append-only file: nothing is kept after the block.
            command += ["--save", "", "--appendonly", "no", "--dir", str(workdir)]
            server = start_process(command, output, cwd=workdir)
            if came_up(server, lambda port=port: ping(port), start_timeout):
                break
            stop_process(server)
        else:
            raise RedisUnavailable(f"redis-server did not start:\n{output_tail(output)}")
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop_process(server)
