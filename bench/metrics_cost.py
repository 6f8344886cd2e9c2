"""What Prometheus metrics cost the logged-in home page: worker CPU per request, on versus off.

    venv/bin/python -m bench.metrics_cost [--workers 2] [--duration 2] [--rounds 12]

Two measurements. First the metrics' own work, in a process of its own in
multi-process mode as under gunicorn: Flask's request_started and
request_finished signals sent many times in a request for /index, by an app with
metrics on and one without; the difference is the CPU the metrics add to each
request, free of other noise. Then the whole page: a fresh SQLite database seeded
as bench.run does, two gunicorn servers with the production settings
(deploy/gunicorn.conf.py) that differ only in METRICS_ENABLED, the benchmark's
readers logged in on each, and wrk (bench/load.lua) driving GET /index on one
server then the other, round after round in alternating order, so that both see
the same load of a shared machine; each round gives the difference of the
workers' CPU time per request. Prints both, and the share of a request's CPU the
metrics take (target: under 10 %). Needs wrk (testkit/install-system-packages.sh
installs it).
"""

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.probes import child_pids, cpu_seconds
from bench.run import find_wrk
from bench.seed import PASSWORD, READERS, seed
from testkit.clients import Auth, LiveClient
from testkit.prometheus import parse_samples, sample
from testkit.services.gunicorn import ROOT, gunicorn_server
from testkit.services.processes import Server
from testkit.services.production import production_environment, upgrade_database

LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"
AGENT = "microblog-bench"
PAGE = "/index"
TARGET = 0.10
SIGNAL_ROUNDS = 20_000


@dataclass
class Run:
    metrics: str  # "off" or "on"
    requests: int
    rps: float
    p50_ms: float
    cpu_ms: float  # the workers' CPU time per request


# --- The metrics' own work ------------------------------------------------------------------


def signals_cpu_per_request(rounds: int) -> dict[str, float]:
    """CPU seconds per request of Flask's two request signals, with metrics on and off.

    Runs in a process started with PROMETHEUS_MULTIPROC_DIR, as a gunicorn worker is.
    """
    from flask import request_finished, request_started
    from werkzeug.wrappers import Response

    from testkit.apps import build_app

    apps = {"off": build_app(), "on": build_app(METRICS_ENABLED=True)}
    response = Response("page", status=200)
    measured = {}
    for name, app in apps.items():
        with app.test_request_context(PAGE):
            for _ in range(1000):  # warm: the label sets exist, the files are mapped
                request_started.send(app)
                request_finished.send(app, response=response)
            started = time.process_time()
            for _ in range(rounds):
                request_started.send(app)
                request_finished.send(app, response=response)
            measured[name] = (time.process_time() - started) / rounds
    return measured


def measure_signals_in_a_worker_like_process(tmp: Path) -> dict[str, float]:
    folder = tmp / "signals-metrics"
    folder.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.metrics_cost", "--signals-only"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


# --- The whole page under gunicorn ------------------------------------------------------------


def session_of(base: str, username: str) -> str:
    """Log in as a browser would (with wrk's User-Agent); the session cookie."""
    browser = LiveClient(base, headers={"User-Agent": AGENT})
    reply = Auth(browser).login(username, PASSWORD)
    if reply.status != 302:
        raise SystemExit(f"logging in {username} failed: {reply.status}")
    return f"session={browser.cookie('session')}"


def drive(
    wrk: str, server: Server, sessions: list[str], seconds: int, connections: int, metrics: str
) -> Run:
    """GET /index as the logged-in readers for ``seconds``; the workers' CPU it took."""
    environment = {
        **os.environ,
        "BENCH_REQUESTS": f"GET {PAGE}",
        # load.lua reads "<cookie> <csrf token>" lines; a GET needs no token.
        "BENCH_SESSIONS": "\n".join(f"{cookie} -" for cookie in sessions),
        "BENCH_AGENT": AGENT,
    }
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(LOAD_SCRIPT)]
    workers = child_pids(server.process.pid)
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    output = subprocess.run(  # noqa: S603 - wrk with our arguments
        [*command, server.url + PAGE], env=environment, capture_output=True, text=True, check=True
    ).stdout
    cpu_used = sum(cpu_seconds(pid) for pid in workers) - cpu_before
    match = re.search(r"^BENCH (.*)$", output, re.MULTILINE)
    if not match:
        raise SystemExit(f"wrk printed no summary:\n{output}")
    summary = {key: float(value) for key, value in (kv.split("=") for kv in match[1].split())}
    requests = int(summary["requests"])
    return Run(
        metrics=metrics,
        requests=requests,
        rps=requests / (summary["duration_us"] / 1e6),
        p50_ms=summary["p50_us"] / 1000,
        cpu_ms=cpu_used * 1000 / max(requests, 1),
    )


@contextlib.contextmanager
def serving(
    environment: dict[str, str], metrics: str, workers: int, tmp: Path
) -> Iterator[Server]:
    with gunicorn_server(
        environment={
            **environment,
            "METRICS_ENABLED": "1" if metrics == "on" else "0",
            "LOG_DIR": str(tmp / f"metrics-{metrics}-logs"),
        },
        output=tmp / f"metrics-{metrics}-gunicorn.log",
        workers=workers,
        options=["--access-logfile", str(tmp / f"metrics-{metrics}-access.log")],
    ) as server:
        yield server


def pages_counted(server: Server) -> float:
    """GET /index answered with a 200, as the server's /metrics counts them."""
    reply = LiveClient(server.url).get("/metrics")
    if reply.status != 200:
        raise SystemExit(f"/metrics answered {reply.status}")
    page = {"endpoint": "main.index", "method": "GET", "status": "200"}
    return sample(parse_samples(reply.text), "microblog_http_requests_total", **page)


def measure_pages(wrk: str, args: argparse.Namespace, tmp: Path) -> tuple[list[Run], float]:
    """Rounds of off/on (or on/off) runs; and the pages the "on" server counted meanwhile."""
    environment = production_environment(tmp, RATELIMIT_ENABLED="0")
    upgrade_database(environment)
    started = time.monotonic()
    counts = seed(environment["DATABASE_URL"])
    print(f"seeded: {counts} in {time.monotonic() - started:.1f} s", flush=True)
    runs: list[Run] = []
    with (
        serving(environment, "off", args.workers, tmp) as off,
        serving(environment, "on", args.workers, tmp) as on,
    ):
        servers = {"off": off, "on": on}
        sessions = {name: [session_of(s.url, r) for r in READERS] for name, s in servers.items()}
        for name, server in servers.items():  # warm-up: imports, templates, caches
            drive(wrk, server, sessions[name], 1, args.connections, name)
        counted_before = pages_counted(on)
        for round_number in range(args.rounds):
            order = ["off", "on"] if round_number % 2 == 0 else ["on", "off"]
            for name in order:
                run = drive(
                    wrk, servers[name], sessions[name], args.duration, args.connections, name
                )
                runs.append(run)
                print(f"  metrics {name}: {run.rps:.0f} req/s, {run.cpu_ms:.3f} ms CPU/request")
                time.sleep(0.3)
        counted = pages_counted(on) - counted_before
    return runs, counted


# --- Report -------------------------------------------------------------------------------


def print_report(
    signals: dict[str, float], runs: list[Run], counted: float, args: argparse.Namespace
) -> float:
    """Print the figures; return the metrics' share of a request's CPU."""
    offs = [run for run in runs if run.metrics == "off"]
    ons = [run for run in runs if run.metrics == "on"]
    page_cpu_ms = statistics.median(run.cpu_ms for run in offs)
    own_ms = (signals["on"] - signals["off"]) * 1000
    share = own_ms / page_cpu_ms
    # Each round ran both servers back to back: its difference saw one machine load.
    differences = [
        (on.cpu_ms - off.cpu_ms) / off.cpu_ms for off, on in zip(offs, ons, strict=True)
    ]
    print()
    print(
        f"Metrics cost on GET {PAGE} (logged in): gunicorn {args.workers} sync workers, "
        f"wrk {args.connections} connections, {args.rounds} rounds of {args.duration} s "
        "per server"
    )
    print()
    print(
        "| metrics | median req/s | median p50 ms | median worker CPU ms/req | runs (CPU ms/req) |"
    )
    print("| --- | ---: | ---: | ---: | --- |")
    for name, group in (("off", offs), ("on", ons)):
        each = ", ".join(f"{run.cpu_ms:.2f}" for run in group)
        print(
            f"| {name} | {statistics.median(r.rps for r in group):.0f} "
            f"| {statistics.median(r.p50_ms for r in group):.1f} "
            f"| {statistics.median(r.cpu_ms for r in group):.3f} | {each} |"
        )
    print()
    print(
        "whole page, on minus off, round by round: "
        + ", ".join(f"{d:+.1%}" for d in differences)
        + f" (median {statistics.median(differences):+.1%}; the machine's noise is of this size)"
    )
    print(
        f"the metrics' own work (request_started + request_finished, {SIGNAL_ROUNDS} times, "
        f"multi-process mode): {signals['on'] * 1e6:.1f} µs per request with metrics, "
        f"{signals['off'] * 1e6:.1f} µs without: +{own_ms * 1000:.1f} µs"
    )
    print(
        f"= {share:.1%} of the {page_cpu_ms:.2f} ms of worker CPU a logged-in page takes "
        f"(target: under {TARGET:.0%})"
    )
    driven = sum(run.requests for run in ons)
    print(f"the metrics counted {counted:.0f} pages; wrk received {driven} from that server")
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--duration", type=int, default=2, help="seconds per run (default 2)")
    parser.add_argument("--rounds", type=int, default=12, help="runs per server (default 12)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--signals-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.signals_only:  # the child process of measure_signals_in_a_worker_like_process
        print(json.dumps(signals_cpu_per_request(SIGNAL_ROUNDS)))
        return
    wrk = find_wrk()
    with tempfile.TemporaryDirectory(prefix="microblog-metrics-cost-") as folder:
        tmp = Path(folder)
        signals = measure_signals_in_a_worker_like_process(tmp)
        runs, counted = measure_pages(wrk, args, tmp)
    share = print_report(signals, runs, counted, args)
    if share >= TARGET:
        raise SystemExit(f"the metrics take {share:.1%} of a request's CPU: over the target")


if __name__ == "__main__":
    main()
