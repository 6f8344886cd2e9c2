"""GET /metrics: the numbers in Prometheus' text format, for the allowed scrapers only."""

import hmac
import os
from ipaddress import ip_address

from flask import Blueprint, abort, current_app, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from werkzeug.wrappers import Response

bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
def metrics() -> Response:
    if not may_read_metrics():
        abort(404)  # as if there were no such page
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry_to_show()), content_type=content_type)


def may_read_metrics() -> bool:
    """From an address of METRICS_ALLOW, or with the bearer token METRICS_TOKEN."""
    config = current_app.config
    if has_the_token(config["METRICS_TOKEN"]):
        return True
    try:
        address = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:127.0.0.1 from a dual-stack bind
        address = address.ipv4_mapped
    return any(address in network for network in config["METRICS_ALLOW"])


def has_the_token(token: str | None) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def registry_to_show() -> CollectorRegistry:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Multi-process mode (gunicorn): every worker writes its numbers to files in
        # this folder; whichever worker answers adds them all up, fresh each time.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
        return registry
    return current_app.extensions["metrics"].registry
