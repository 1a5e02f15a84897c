"""The gateway's Prometheus metrics (prometheus-client), served on /_natsobj/metrics:
requests by operation and status, bytes in and out, and a latency histogram."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ._http import Response


class Metrics:
    """One registry per gateway (several gateways in one process don't mix their counts)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "natsobj_s3_requests",
            "S3 requests answered, by operation and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.bytes_in = Counter(
            "natsobj_s3_received_bytes", "Request body bytes received", registry=self.registry
        )
        self.bytes_out = Counter(
            "natsobj_s3_sent_bytes", "Response body bytes sent", registry=self.registry
        )
        self.latency = Histogram(
            "natsobj_s3_request_seconds",
            "Time to answer a request, by operation",
            ["operation"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def observe(
        self, operation: str, status: int, received: int, sent: int, seconds: float
    ) -> None:
        self.requests.labels(operation, str(status)).inc()
        if received:
            self.bytes_in.inc(received)
        if sent:
            self.bytes_out.inc(sent)
        self.latency.labels(operation).observe(seconds)

    def response(self) -> Response:
        return Response(
            200, [("Content-Type", CONTENT_TYPE_LATEST)], generate_latest(self.registry)
        )
