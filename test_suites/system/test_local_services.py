"""The local service helpers themselves: a private Redis answers, then is gone."""

import contextlib
import socket
from urllib.parse import urlsplit

import pytest

from testkit.services.processes import unavailable
from testkit.services.redis import RedisUnavailable, redis_server

pytestmark = pytest.mark.system


def test_a_private_redis_answers_ping_and_is_gone_after_the_block():
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(redis_server())
        except RedisUnavailable as reason:
            unavailable(str(reason))
        port = urlsplit(url).port
        assert url == f"redis://127.0.0.1:{port}/0"
        # RESP, Redis's wire protocol, spoken by hand: no client library needed yet.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"*1\r\n$4\r\nPING\r\n")
            assert connection.recv(64) == b"+PONG\r\n"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
