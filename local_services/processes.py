"""Child processes: started on a free port, stopped at the end, never outliving us."""

import contextlib
import ctypes
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from local_services.ports import came_up, free_port

_PR_SET_PDEATHSIG = 1


def dies_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when we die.

    A test run stopped hard (SIGKILL, a timeout) never reaches its clean-up code;
    without this its servers would run on, orphaned. It is set after the child
    changed user (which clears it), just before exec.
    """

    def request_signal() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return request_signal


def stop(server: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM (a graceful shutdown for gunicorn and nginx), then SIGKILL if it lingers."""
    server.terminate()
    try:
        server.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextlib.contextmanager
def serving_on_free_port(
    name: str,
    command_for: Callable[[int], Sequence[str]],
    output: Path,
    start_timeout: float,
    **popen: Any,
) -> Iterator[str]:
    """Start ``command_for(port)`` on a free loopback port; yield its URL; stop it at the end.

    The port is free when picked but another process can take it before the
    server binds it, so a server that does not come up gets two more tries.
    Its output is appended to ``output``; ``ServerFailed`` quotes the end of it.
    """
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with output.open("ab") as log:
            server = subprocess.Popen(  # noqa: S603 - the caller's own fixed command
                command_for(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=dies_with_parent(),  # noqa: PLW1509 - ends with us even when killed
                **popen,
            )
        if came_up(server, url, start_timeout):
            break
        stop(server)
    else:
        tail = output.read_text(errors="replace")[-1500:]
        raise ServerFailed(f"{name} did not start:\n{tail}")
    try:
        yield url
    finally:
        stop(server)


class ServerFailed(RuntimeError):
    """A server never answered; the message ends with the end of its output."""
