"""A thread that each process starts for itself, the first time it has work for it.

The mail sender (app.mail.sender) and the jobs' thread (app.jobs.queues) each run
one. A thread started before gunicorn forks its workers would not exist in them,
so it is started lazily, once per process id, with a queue of its own: whatever
the parent had queued stays the parent's. Stopped, it is started again by the
next work that comes.
"""

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

# Put on the queue to end the thread, once what is before it is done.
STOP = object()


class ProcessThread:
    def __init__(self, name: str, run: Callable[[queue.SimpleQueue[Any]], None]) -> None:
        """``run`` takes the queue and returns when it gets ``STOP``."""
        self.name = name
        self.run = run
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.thread: threading.Thread | None = None
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def is_running_here(self) -> bool:
        return self.pid == os.getpid()

    def start(self) -> bool:
        """Start the thread in this process unless it runs; True when started now."""
        if self.is_running_here():
            return False
        with self.lock:
            if self.is_running_here():
                return False
            self.queue = queue.SimpleQueue()
            self.thread = threading.Thread(
                target=self.run, args=(self.queue,), name=self.name, daemon=True
            )
            self.thread.start()
            self.pid = os.getpid()
            return True

    def put(self, item: Any) -> None:
        self.start()
        self.queue.put(item)

    def stop(self, timeout: float) -> None:
        """End the thread once what it was given is done (at most ``timeout`` seconds)."""
        with self.lock:
            if not self.is_running_here() or self.thread is None:
                return
            self.queue.put(STOP)
            thread, self.pid = self.thread, None
        thread.join(timeout)
