"""``/metrics`` in Prometheus text format.

Counters and histograms count events as they happen, in Redis, from every process
(conversations/counters.py); gauges read the current state at scrape time from the database
and from Redis (worker heartbeats, the queue). So whichever web process serves the scrape
reports the whole system. Websocket gauges are per ASGI process. ``METRICS_TOKEN`` and
``METRICS_ALLOWED_IPS`` restrict who may scrape.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from conversations import counters, selectors
from conversations.gauges import websocket_connections
from conversations.models import Message
from conversations.redis_client import redis_client
from conversations.streaming import delivery_counts
from generation import heartbeat

registry = CollectorRegistry()
registry.register(websocket_connections)


def queue_depth() -> int:
    """Generation tasks waiting in the broker (the queue is a Redis list named after it)."""
    depth: Any = redis_client().llen(settings.GENERATION_QUEUE)
    return int(depth)


class ParleyCollector(Collector):
    def collect(self) -> Iterator[Any]:
        yield from self._events()
        replies = Message.objects.filter(role=Message.Role.ASSISTANT)
        in_flight = replies.filter(status__in=[Message.Status.PENDING, Message.Status.STREAMING]).count()
        yield GaugeMetricFamily("parley_replies_in_flight", "Replies pending or streaming", value=in_flight)
        yield from _support_queue()
        thumbs = dict(replies.filter(feedback__isnull=False).values_list("feedback").annotate(n=Count("id")).order_by())
        current = GaugeMetricFamily(
            "parley_replies_with_feedback", "Stored bot replies whose customer's vote is up or down", labels=["value"]
        )
        current.add_metric(["up"], thumbs.get(1, 0))
        current.add_metric(["down"], thumbs.get(-1, 0))
        yield current
        try:
            depth: float = queue_depth()
            beats = heartbeat.beats()
        except Exception:  # Redis away: say so rather than fail the scrape
            depth, beats = float("nan"), []
        yield GaugeMetricFamily("parley_generation_queue_depth", "Generation tasks waiting in the broker", value=depth)
        yield from _delivery()
        yield GaugeMetricFamily("parley_workers", "Generation workers alive", value=len(beats))
        concurrency = GaugeMetricFamily("parley_worker_concurrency", "Threads per worker", labels=["worker"])
        active = GaugeMetricFamily("parley_worker_active_sequences", "Sequences decoding now", labels=["worker"])
        # Per worker process, from its heartbeat: they start from zero when the worker restarts.
        drafted = CounterMetricFamily(
            "parley_worker_draft_tokens", "Draft tokens checked (speculative decoding)", labels=["worker"]
        )
        accepted = CounterMetricFamily(
            "parley_worker_draft_tokens_accepted", "Draft tokens the model agreed with", labels=["worker"]
        )
        for beat in beats:
            concurrency.add_metric([beat["name"]], beat.get("concurrency", 0))
            active.add_metric([beat["name"]], beat.get("active", 0))
            drafted.add_metric([beat["name"]], beat.get("draft_tokens", 0))
            accepted.add_metric([beat["name"]], beat.get("draft_accepted", 0))
        yield concurrency
        yield active
        yield drafted
        yield accepted

    def _events(self) -> Iterator[Any]:
        try:
            figures = counters.read()
        except Exception:  # Redis away: the event figures are missing from this scrape
            return
        for name, (doc, labels) in counters.COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=list(labels))
            for values, value in counters.counter_samples(figures, name):
                family.add_metric(values, value)
            yield family
        for name, (doc, _buckets) in counters.HISTOGRAMS.items():
            cumulative, total = counters.histogram_samples(figures, name)
            histogram = HistogramMetricFamily(name, doc)
            histogram.add_metric([], cumulative, sum_value=total)
            yield histogram


# Time to pickup is read over the last day (the ops page shows the same figures).
PICKUP_WINDOW = timedelta(hours=24)


def _support_queue() -> Iterator[Any]:
    """Conversations waiting for a person now, the longest wait, and the time to pickup
    quantiles over ``PICKUP_WINDOW`` (NaN when nobody was picked up; the
    ``parley_pickup_seconds`` histogram has every pickup since Redis started)."""
    now = timezone.now()
    waiting, oldest = selectors.waiting_for_human()
    yield GaugeMetricFamily("parley_conversations_needing_human", "Conversations waiting for staff", value=waiting)
    yield GaugeMetricFamily(
        "parley_longest_wait_for_human_seconds",
        "How long the conversation waiting longest for staff has waited (0 when none waits)",
        value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
    )
    pickups = selectors.pickup_seconds(since=now - PICKUP_WINDOW)
    for q, name in ((0.5, "p50"), (0.95, "p95")):
        value = selectors.percentile(pickups, q)
        yield GaugeMetricFamily(
            f"parley_time_to_pickup_{name}_seconds",
            f"Time from the bot handing over to a person taking the conversation, {name} over the last 24 h",
            value=float("nan") if value is None else value,
        )


def _delivery() -> Iterator[Any]:
    """Catch-ups: replies (or their text) a socket got from the database because the live
    event was lost or late; late events: live final messages that came after their catch-up."""
    try:
        counts = delivery_counts()
    except Exception:  # Redis away: no figures rather than a failed scrape
        return
    catch_ups = CounterMetricFamily(
        "parley_reply_catchups",
        "Replies whose final message (kind=message) or text so far (kind=text) a socket got by catch-up",
        labels=["socket", "kind"],
    )
    for (socket, kind), n in counts["catch_ups"].items():
        catch_ups.add_metric([socket, kind], n)
    yield catch_ups
    late = CounterMetricFamily(
        "parley_reply_late_events", "Live final messages that came after their catch-up", labels=["socket"]
    )
    for socket, n in counts["late"].items():
        late.add_metric([socket], n)
    yield late


registry.register(ParleyCollector())


@functools.lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in allowed]


def scrape_allowed(request: HttpRequest) -> bool:
    """Open unless ``METRICS_TOKEN`` or ``METRICS_ALLOWED_IPS`` is set; then a scrape needs the
    bearer token or an address in the list (either will do)."""
    token, allowed = settings.METRICS_TOKEN, tuple(settings.METRICS_ALLOWED_IPS)
    if not token and not allowed:
        return True
    if token and hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks(allowed))


def metrics(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        response = HttpResponse("Forbidden: a bearer token or an allowed address is needed.\n", status=403)
        if settings.METRICS_TOKEN:
            response.status_code = 401
            response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")
