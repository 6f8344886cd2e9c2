"""A local stand-in for Sentry: it takes the SDK's envelopes and keeps what they carry.

with sentry_receiver() as receiver:   # receiver.dsn: a DSN for SENTRY_DSN
    ...
    [event] = receiver.wait_for_events(1)

Run by hand to try SENTRY_DSN without a Sentry account; it prints the DSN to use,
then every event it receives, as JSON:

    venv/bin/python -m testkit.services.sentry_receiver [--port 9000]

The SDK posts envelopes to /api/<project>/envelope/ (gzip-compressed): a line of
JSON headers, then items, each a line of JSON item headers (with the payload's
``length`` in bytes, or without it: then the payload ends at the next newline)
and its payload. An error is an item of type "event" whose payload is the event
as JSON. The key in the DSN is not checked.
"""

import argparse
import contextlib
import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from testkit.services.processes import wait_until

HOST = "127.0.0.1"
PROJECT_ID = "1"
PUBLIC_KEY = "0123456789abcdef0123456789abcdef"


def dsn_for(port: int, host: str = HOST) -> str:
    return f"http://{PUBLIC_KEY}@{host}:{port}/{PROJECT_ID}"


@dataclass
class Envelope:
    headers: dict
    items: list[tuple[dict, bytes]]
    raw: bytes  # the whole envelope, uncompressed: what the SDK let out


def parse_envelope(body: bytes) -> Envelope:
    """Split an envelope into its headers and its (item headers, payload) pairs."""
    header_line, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_headers = json.loads(item_line)
        length = item_headers.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:].removeprefix(b"\n")
        items.append((item_headers, payload))
    return Envelope(json.loads(header_line), items, body)


@dataclass
class SentryReceiver:
    """Everything the receiver on ``port`` was sent, in order of arrival."""

    port: int = 0
    envelopes: list[Envelope] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dsn(self) -> str:
        return dsn_for(self.port)

    def add(self, envelope: Envelope) -> None:
        with self.lock:
            self.envelopes.append(envelope)

    def payloads(self, item_type: str) -> list[dict]:
        with self.lock:
            envelopes = list(self.envelopes)
        return [
            json.loads(payload)
            for envelope in envelopes
            for headers, payload in envelope.items
            if headers.get("type") == item_type
        ]

    @property
    def events(self) -> list[dict]:
        return self.payloads("event")

    @property
    def raw(self) -> bytes:
        """Every envelope as it arrived (uncompressed), to search for what must not be there."""
        with self.lock:
            return b"\n".join(envelope.raw for envelope in self.envelopes)

    def wait_for_events(self, count: int, seconds: float = 10) -> list[dict]:
        """The events, once there are at least ``count`` of them (or time ran out)."""
        wait_until(lambda: len(self.events) >= count, seconds)
        return self.events


def handler_for(receiver: SentryReceiver, echo: bool = False) -> type[BaseHTTPRequestHandler]:
    class EnvelopeHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if not self.path.rstrip("/").endswith("/envelope"):
                self.send_error(404)
                return
            envelope = parse_envelope(body)
            receiver.add(envelope)
            if echo:
                print_events(envelope)
            reply = json.dumps({"id": envelope.headers.get("event_id")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            pass  # the tests' output stays clean; echo mode prints the events instead

    return EnvelopeHandler


def print_events(envelope: Envelope) -> None:
    for headers, payload in envelope.items:
        if headers.get("type") == "event":
            print(json.dumps(json.loads(payload), indent=2), flush=True)
        else:
            print(f"({headers.get('type')} item, {len(payload)} bytes)", flush=True)


@contextlib.contextmanager
def sentry_receiver(port: int = 0) -> Iterator[SentryReceiver]:
    """Receive envelopes on 127.0.0.1 (a free port unless ``port``) until the block ends."""
    receiver = SentryReceiver()
    server = ThreadingHTTPServer((HOST, port), handler_for(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="sentry-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000, help="port on 127.0.0.1 (9000)")
    args = parser.parse_args()
    receiver = SentryReceiver(port=args.port)
    server = ThreadingHTTPServer((HOST, args.port), handler_for(receiver, echo=True))
    print(f"Set SENTRY_DSN={dsn_for(server.server_address[1])} (Ctrl-C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
