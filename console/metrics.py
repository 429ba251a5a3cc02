"""/metrics for Prometheus, and the request latency it reports.

prometheus-client, not django-prometheus: we want a handful of metrics named for what Wattson
does (reviews.metrics), labelled by resolved view name, and one multi-process story for both
gunicorn's workers and qcluster's processes (PROMETHEUS_MULTIPROC_DIR); django-prometheus adds a
few dozen generic metrics and model/database wrappers we would not read.

The endpoint is off unless WATTSON_METRICS_TOKEN is set (404), and answers only a request that
carries it as `Authorization: Bearer <token>` (403 otherwise).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from reviews.metrics import QueueDepthCollector

REQUEST_LATENCY = Histogram(
    "wattson_http_request_duration_seconds",
    "Time to answer a request, by resolved view name (not the raw path), method and status.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")),
)
# Unresolved paths (404s, static files) share one label: raw paths would let any client mint
# unbounded label values.
UNRESOLVED = "<unresolved>"


class RequestMetricsMiddleware:
    """Observes every request's latency under its view's name."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else UNRESOLVED
        REQUEST_LATENCY.labels(
            view=view, method=request.method or "", status=str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response


class _ThisProcess:
    """The default registry's metrics (single-process mode) without re-registering them."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(QueueDepthCollector())
    return registry


def _authorised(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.WATTSON_METRICS_TOKEN
    if not token:
        raise Http404("metrics are disabled: set WATTSON_METRICS_TOKEN")
    if not _authorised(request, token):
        return HttpResponseForbidden("a bearer token is required", content_type="text/plain")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
