"""Loopback ports and waiting for a server to answer."""

import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    """Whether an HTTP server answers ``url`` at all (any status)."""
    try:
        urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback URLs we built
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    return True


def wait_until(condition, seconds: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def came_up(process: subprocess.Popen, url: str, seconds: float) -> bool:
    """Wait until ``process`` answers at ``url``; False if it died or never answered."""
    wait_until(lambda: process.poll() is not None or answers(url), seconds)
    return process.poll() is None and answers(url)
