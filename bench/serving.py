"""Start and stop a real gunicorn server on a loopback port the OS picked.

Shared by the benchmark, the race check and the tests. The listening socket is
made here (port 0: the OS picks a free port) and handed to gunicorn as
``fd://N``, so no other process can take the port between choosing and binding.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


def free_port() -> int:
    """A port free right now (for servers that must bind it themselves)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket(backlog: int = 2048) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def wait_until_up(url: str, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers at all (any HTTP status counts as up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before {url}")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback URL we built
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start within {timeout} s")


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers when ``pid`` is the arbiter)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            children.append(int(entry.name))
    return sorted(children)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 of stat (utime, stime), counted after the ")" from field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM of a process: the most resident memory it ever had, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Gunicorn:
    """``with Gunicorn(env=...) as server:`` runs gunicorn.conf.py's app until the block ends."""

    def __init__(
        self,
        app: str | None = None,
        *,
        env: Mapping[str, str],
        workers: int = 2,
        stdout: IO[Any] | int = subprocess.DEVNULL,
        stderr: IO[Any] | int = subprocess.DEVNULL,
        extra_args: tuple[str, ...] = (),
        ready_path: str = "/",
    ) -> None:
        self.app = app
        self.env = env
        self.workers = workers
        self.stdout = stdout
        self.stderr = stderr
        self.extra_args = extra_args
        self.ready_path = ready_path
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "Gunicorn":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self.process is not None:
            raise RuntimeError("this server was already started")
        sock = listening_socket()
        fd = sock.fileno()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), *self.extra_args]
        if self.app:
            command.append(self.app)
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command,
                cwd=ROOT,
                env={
                    **os.environ,
                    **self.env,
                    "GUNICORN_BIND": f"fd://{fd}",
                    "WEB_CONCURRENCY": str(self.workers),
                },
                pass_fds=(fd,),
                stdout=self.stdout,
                stderr=self.stderr,
            )
        finally:
            sock.close()
        try:
            wait_until_up(self.url + self.ready_path, process=self.process)
        except BaseException:
            self.stop()
            raise

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid) if self.process else []

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
