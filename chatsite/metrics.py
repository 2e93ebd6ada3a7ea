"""``/metrics`` in Prometheus text format.

Figures produced in worker processes (tokens, timings, outcomes) are stored on the reply rows
and in Redis (worker heartbeats, queue), so a collector reads them at scrape time: whichever
process serves the scrape reports the whole system. Websocket gauges are per ASGI process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from conversations.gauges import websocket_connections
from conversations.models import Conversation, Message
from conversations.redis_client import redis_client
from conversations.streaming import delivery_counts
from generation import heartbeat

TTFT_BUCKETS_S = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

registry = CollectorRegistry()
registry.register(websocket_connections)


def _histogram(name: str, doc: str, field: str, buckets: tuple[float, ...]) -> HistogramMetricFamily:
    rows = Message.objects.filter(role=Message.Role.ASSISTANT, **{f"{field}__isnull": False})
    aggregates: dict[str, Any] = {
        f"le{i}": Count("id", filter=Q(**{f"{field}__lte": b * 1000})) for i, b in enumerate(buckets)
    }
    aggregates["count"] = Count("id")
    aggregates["sum"] = Sum(field)
    values = rows.aggregate(**aggregates)
    cumulative = [(str(b), values[f"le{i}"]) for i, b in enumerate(buckets)] + [("+Inf", values["count"])]
    family = HistogramMetricFamily(name, doc)
    family.add_metric([], cumulative, sum_value=(values["sum"] or 0) / 1000)
    return family


def queue_depth() -> int:
    """Generation tasks waiting in the broker (the queue is a Redis list named after it)."""
    depth: Any = redis_client().llen(settings.GENERATION_QUEUE)
    return int(depth)


class ParleyCollector(Collector):
    def collect(self) -> Iterator[Any]:
        replies = Message.objects.filter(role=Message.Role.ASSISTANT)
        by_status = dict(replies.values_list("status").annotate(n=Count("id")).order_by())
        counter = CounterMetricFamily("parley_replies", "Assistant replies by status", labels=["status"])
        for status in Message.Status.values:
            counter.add_metric([status], by_status.get(status, 0))
        yield counter
        totals = replies.aggregate(
            tokens=Sum("completion_tokens"),
            prompt=Sum("prompt_tokens"),
            handoff=Count("id", filter=Q(handoff=True)),
            retries=Sum("attempts"),
        )
        yield CounterMetricFamily("parley_generation_tokens", "Tokens generated", value=totals["tokens"] or 0)
        yield CounterMetricFamily("parley_prompt_tokens", "Prompt tokens processed", value=totals["prompt"] or 0)
        yield CounterMetricFamily(
            "parley_handoffs", "Replies that handed over to a person", value=totals["handoff"] or 0
        )
        yield CounterMetricFamily(
            "parley_generation_attempts", "Generation attempts, retries included", value=totals["retries"] or 0
        )
        thumbs = dict(replies.filter(feedback__isnull=False).values_list("feedback").annotate(n=Count("id")).order_by())
        feedback = CounterMetricFamily("parley_feedback", "Customer thumbs on bot replies", labels=["value"])
        feedback.add_metric(["up"], thumbs.get(1, 0))
        feedback.add_metric(["down"], thumbs.get(-1, 0))
        yield feedback
        rated = Conversation.objects.filter(rating__isnull=False).aggregate(n=Count("id"), total=Sum("rating"))
        yield CounterMetricFamily(
            "parley_conversation_ratings", "Conversations rated by the customer", value=rated["n"] or 0
        )
        yield CounterMetricFamily(
            "parley_conversation_rating_stars", "Sum of the stars given", value=rated["total"] or 0
        )
        yield _histogram(
            "parley_generation_time_to_first_token_seconds",
            "Time from the engine taking a request to its first token",
            "first_token_ms",
            TTFT_BUCKETS_S,
        )
        yield _histogram(
            "parley_first_delta_seconds",
            "Time from the customer's message stored to the reply's first text sent",
            "first_delta_ms",
            TTFT_BUCKETS_S,
        )
        yield _histogram("parley_reply_seconds", "Time to produce a whole reply", "generation_ms", REPLY_BUCKETS_S)
        in_flight = replies.filter(status__in=[Message.Status.PENDING, Message.Status.STREAMING]).count()
        yield GaugeMetricFamily("parley_replies_in_flight", "Replies pending or streaming", value=in_flight)
        waiting = Conversation.objects.filter(status=Conversation.Status.NEEDS_HUMAN).count()
        yield GaugeMetricFamily("parley_conversations_needing_human", "Conversations waiting for staff", value=waiting)
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


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")
