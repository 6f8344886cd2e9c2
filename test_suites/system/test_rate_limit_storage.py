"""Rate limits counted in Redis by gunicorn's workers: shared, and surviving an outage.

One gunicorn instance with two workers counts login attempts in a private Redis.
The server is stopped under it (the site keeps serving: no 500, the workers count
in their own processes and say so in the log), then started again on the same
port (the workers go back to it, and the limit is shared again).
"""

import contextlib
import itertools
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from testkit.clients import LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import unavailable, wait_until
from testkit.services.production import production_environment, upgrade_database
from testkit.services.redis import RedisUnavailable, redis_server

pytestmark = pytest.mark.system

LIMIT = 5
WORKERS = 2
FELL_BACK = "Rate limit storage unreachable - falling back to in-memory storage"
RECOVERED = "Rate limit storage recovered"
addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def attempts(url: str, count: int) -> Counter[int]:
    """``count`` login attempts from one new client address (behind a trusted proxy)."""
    browser = LiveClient(url, headers={"X-Forwarded-For": next(addresses)})
    token = browser.csrf_token("/login")
    form = {"csrf_token": token, "username": "nobody", "password": ""}
    return Counter(browser.post("/login", form).status for _ in range(count))


def test_limits_survive_a_redis_outage_and_are_shared_again_when_it_returns(tmp_path: Path):
    with contextlib.ExitStack() as stack:
        redis = contextlib.ExitStack()
        stack.callback(redis.close)
        try:
            url = redis.enter_context(redis_server())
        except RedisUnavailable as reason:
            unavailable(str(reason))
        environment = production_environment(
            tmp_path,
            RATELIMIT_STORAGE_URI=url,
            RATELIMIT_AUTH=f"{LIMIT} per minute",
            TRUSTED_PROXIES="1",
        )
        upgrade_database(environment)
        server = stack.enter_context(
            gunicorn_server(environment=environment, output=tmp_path / "gunicorn.out")
        )
        log = Path(environment["LOG_DIR"]) / "microblog.log"

        shared = attempts(server.url, LIMIT + 5)
        print(f"\nRedis up: {LIMIT + 5} attempts from one address: {dict(shared)}")
        assert shared == {200: LIMIT, 429: 5}

        redis.close()  # Redis goes away under the running site
        seen: Counter[int] = Counter()

        def every_worker_fell_back() -> bool:
            seen.update(LiveClient(server.url).get(page).status for page in ("/", "/login"))
            seen.update(attempts(server.url, 1))
            return log.read_text().count(FELL_BACK) == WORKERS

        assert wait_until(every_worker_fell_back, 60, interval=0.2), log.read_text()[-2000:]
        alone = attempts(server.url, LIMIT * WORKERS + 2)
        print(
            f"Redis down: pages and attempts answered {dict(seen)}; "
            f"{LIMIT * WORKERS + 2} attempts from one address: {dict(alone)}"
        )
        assert 500 not in seen + alone
        # Each worker counts on its own: up to LIMIT each, never unlimited.
        assert LIMIT <= alone[200] <= LIMIT * WORKERS
        assert alone[429] >= 2

        port = urlsplit(url).port
        stack.enter_context(redis_server(port=port))  # back, on the same address

        def every_worker_recovered() -> bool:
            for page in ("/", "/index"):
                assert LiveClient(server.url).get(page).status < 500
            # A worker looks for Redis again where it checks limits: at a limited view.
            assert 500 not in attempts(server.url, 1)
            return log.read_text().count(RECOVERED) == WORKERS

        assert wait_until(every_worker_recovered, 90, interval=0.2), log.read_text()[-2000:]
        again = attempts(server.url, LIMIT + 5)
        print(f"Redis back: {LIMIT + 5} attempts from one address: {dict(again)}")
        assert again == {200: LIMIT, 429: 5}
        assert " ERROR " not in log.read_text()
        assert not re.search(r"Traceback|Logging error", (tmp_path / "gunicorn.out").read_text())
