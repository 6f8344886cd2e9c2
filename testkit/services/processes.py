"""Child processes: started on a free port, waited for, stopped, never outliving us."""

import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

SETUP_SCRIPT = "testkit/install-system-packages.sh"
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


class ServiceUnavailable(RuntimeError):
    """A program a service needs is not installed or cannot run here; the message says why."""


class ServerFailed(RuntimeError):
    """A server never answered; the message ends with the end of its output."""


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason``, but fail it in CI (CI=true), where everything must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test, but: {reason}", pytrace=False)
    pytest.skip(reason)


def find_program(name: str, package: str, missing: type[ServiceUnavailable]) -> str:
    """The path of program ``name``, found on PATH or in the sbin folders; else ``missing``."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise missing(f"{name} is not installed (Debian package {package}; run {SETUP_SCRIPT})")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def blackhole_port() -> Iterator[int]:
    """A loopback port where the kernel accepts connections and nobody ever answers.

    What a hung server looks like to a client: it waits for its whole timeout.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def wait_until(condition: Callable[[], T], seconds: float, interval: float = 0.05) -> T | bool:
    """Call ``condition`` until it returns something truthy (returned) or time runs out (False)."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def answers(url: str) -> bool:
    """Whether an HTTP server answers ``url`` at all (any status counts).

    A redirect is an answer and is not followed: "/" sends visitors on to a page
    that reads the database, which a freshly started test app may not have yet.
    """
    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=2)
    try:
        connection.request("GET", address.path or "/")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True


def dies_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when we die.

    A run stopped hard (SIGKILL, a timeout) never reaches its clean-up code;
    without this its servers would run on, orphaned. Python calls it after the
    child changed user (which clears the setting), just before exec.
    """

    def request_signal() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return request_signal


def start_process(
    command: Sequence[str], output: Path, stop_signal: int = signal.SIGTERM, **popen: Any
) -> subprocess.Popen:
    """Start ``command`` with its output appended to ``output``; it dies with us."""
    with output.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - the caller's own fixed command
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Ends with us even when we are killed before our clean-up runs.
            preexec_fn=dies_with_parent(stop_signal),
            **popen,
        )


def stop_process(
    process: subprocess.Popen, grace: float = 30, stop_signal: int = signal.SIGTERM
) -> None:
    """Send ``stop_signal`` (SIGTERM: a graceful shutdown), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(stop_signal)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def came_up(process: subprocess.Popen, ready: Callable[[], bool], seconds: float) -> bool:
    """Wait until ``ready()`` while ``process`` runs; False if it exited or time ran out."""

    def settled() -> str | None:
        if process.poll() is not None:
            return "exited"
        return "ready" if ready() else None

    return wait_until(settled, seconds) == "ready"


def output_tail(output: Path, characters: int = 1500) -> str:
    return output.read_text(errors="replace")[-characters:] if output.exists() else ""


@dataclass
class Server:
    """A running server: its base URL and its process (gunicorn's arbiter, nginx's master)."""

    url: str
    process: subprocess.Popen


@contextlib.contextmanager
def running_on_free_port(
    name: str,
    command_for: Callable[[int], Sequence[str]],
    ready: Callable[[int], bool],
    output: Path,
    start_timeout: float = 60,
    port: int | None = None,
    stop_signal: int = signal.SIGTERM,
    failure: type[Exception] = ServerFailed,
    **popen: Any,
) -> Iterator[tuple[int, subprocess.Popen]]:
    """Start ``command_for(port)`` on a free loopback port; yield the port and the process
    once ``ready(port)``; stop it (``stop_signal``) at the end.

    The port is free when picked, but another process can take it before the
    server binds it, so a server that does not come up gets two more tries; with
    ``port`` given, it has that one. Its output is appended to ``output``; the
    ``failure`` raised when it never comes up quotes the end of it.
    """
    for _attempt in range(1 if port else 3):
        chosen = port or free_port()
        process = start_process(command_for(chosen), output, stop_signal, **popen)
        if came_up(process, lambda chosen=chosen: ready(chosen), start_timeout):
            break
        stop_process(process, stop_signal=stop_signal)
    else:
        raise failure(f"{name} did not start:\n{output_tail(output)}")
    try:
        yield chosen, process
    finally:
        stop_process(process, stop_signal=stop_signal)


@contextlib.contextmanager
def serving_on_free_port(
    name: str,
    command_for: Callable[[int], Sequence[str]],
    output: Path,
    start_timeout: float = 60,
    ready_path: str = "/",
    **popen: Any,
) -> Iterator[Server]:
    """An HTTP server started by ``running_on_free_port``, ready once it answers ``ready_path``."""

    def ready(port: int) -> bool:
        return answers(f"http://127.0.0.1:{port}{ready_path}")

    started = running_on_free_port(name, command_for, ready, output, start_timeout, **popen)
    with started as (port, process):
        yield Server(f"http://127.0.0.1:{port}", process)
