"""The job worker as production runs it: ``flask jobs worker``, RQ on a Redis.

with job_worker(environment, output=log) as process:   # the worker's process
    ...                                                  # process.kill(): SIGKILL
"""

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from testkit.services.processes import (
    ServerFailed,
    came_up,
    output_tail,
    start_process,
    stop_process,
)

ROOT = Path(__file__).resolve().parents[2]
# What the worker prints once it waits for jobs (app/jobs/worker.py).
READY = " started (pid "


@contextlib.contextmanager
def job_worker(
    environment: Mapping[str, str],
    output: Path,
    root: Path = ROOT,
    start_timeout: float = 60,
) -> Iterator[subprocess.Popen]:
    """Run a job worker of the tree at ``root`` until the block ends (or it is killed).

    Its output is appended to ``output``; ``ServerFailed`` if it never says it started.
    """
    already = output_tail(output, 10**7).count(READY)
    command = [sys.executable, "-m", "flask", "--app", "microblog", "jobs", "worker"]
    process = start_process(
        command, output, env={**environment, "PYTHONPATH": str(root)}, cwd=root
    )
    try:
        started = came_up(
            process, lambda: output_tail(output, 10**7).count(READY) > already, start_timeout
        )
        if not started:
            raise ServerFailed(f"the job worker did not start:\n{output_tail(output)}")
        yield process
    finally:
        stop_process(process)
