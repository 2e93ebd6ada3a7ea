"""``/ops/``: the workers' health and the support queue at a glance, for staff. The page
refreshes its figures every 10 s with ``fetch`` (templates/ops.html), never by reloading."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Avg, Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from chatsite.charts import line_chart
from chatsite.metrics import queue_depth
from conversations import selectors
from conversations.models import Conversation, Message
from conversations.streaming import delivery_counts
from generation import heartbeat

MINUTES = 60


# Time to pickup is read over a day: a support team picks up far fewer conversations an hour
# than the bot writes replies.
PICKUP_HOURS = 24


def _pct(values: list[float], q: float) -> float | None:
    return selectors.percentile(values, q)


def duration(seconds: float | None) -> str:
    """``seconds`` as a person reads a wait: "45 s", "3 min", "1 h 20 min"; "—" for none."""
    if seconds is None:
        return "—"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def snapshot() -> dict[str, Any]:
    now = timezone.now()
    since = now - timedelta(minutes=MINUTES)
    rows = list(
        Message.objects.filter(role=Message.Role.ASSISTANT, updated_at__gte=since).values_list(
            "updated_at",
            "status",
            "first_token_ms",
            "generation_ms",
            "completion_tokens",
            "handoff",
            "attempts",
            "first_delta_ms",
        )
    )
    done = [r for r in rows if r[1] in (Message.Status.COMPLETE, Message.Status.FAILED)]
    per_minute = [0.0] * MINUTES
    tokens_per_minute = [0.0] * MINUTES
    ttft_per_minute: list[list[float]] = [[] for _ in range(MINUTES)]
    for updated, _status, ttft, _gen, tokens, _handoff, _attempts, _first in done:
        slot = min(MINUTES - 1, int((updated - since).total_seconds() // 60))
        per_minute[slot] += 1
        tokens_per_minute[slot] += tokens or 0
        if ttft is not None:
            ttft_per_minute[slot].append(ttft)
    ttft_ms = [float(r[2]) for r in done if r[2] is not None]
    reply_ms = [float(r[3]) for r in done if r[3] is not None]
    first_delta_ms = [float(r[7]) for r in done if r[7] is not None]
    feedback = Message.objects.filter(role=Message.Role.ASSISTANT, feedback__isnull=False).aggregate(
        up=Count("id", filter=Q(feedback=1)), down=Count("id", filter=Q(feedback=-1))
    )
    ratings = Conversation.objects.filter(rating__isnull=False).aggregate(avg=Avg("rating"), n=Count("id"))
    waiting, oldest_wait = selectors.waiting_for_human()
    pickups = selectors.pickup_seconds(since=now - timedelta(hours=PICKUP_HOURS))
    try:
        beats, depth, redis_error = heartbeat.beats(), queue_depth(), ""
        for beat in beats:
            drafted = beat.get("draft_tokens") or 0
            beat["draft_rate"] = beat.get("draft_accepted", 0) / drafted if drafted else None
        delivered = delivery_counts()
    except Exception as exc:
        beats, depth, redis_error = [], None, f"{exc.__class__.__name__}: {exc}"
        delivered = None
    return {
        "now": now,
        "queue_depth": depth,
        "redis_error": redis_error,
        "workers": beats,
        "in_flight": sum(1 for r in rows if r[1] in (Message.Status.PENDING, Message.Status.STREAMING)),
        "replies": len(done),
        "replies_per_min": len(done) / MINUTES,
        "tokens_per_s": sum(r[4] or 0 for r in done) / (MINUTES * 60),
        "waiting_for_human": waiting,
        "longest_wait": duration((now - oldest_wait).total_seconds()) if oldest_wait else "—",
        "pickup_hours": PICKUP_HOURS,
        "pickups": len(pickups),
        "pickup_p50": duration(_pct(pickups, 0.5)),
        "pickup_p95": duration(_pct(pickups, 0.95)),
        "ttft_p50": _pct(ttft_ms, 0.5),
        "ttft_p95": _pct(ttft_ms, 0.95),
        "first_delta_p50": _pct(first_delta_ms, 0.5),
        "first_delta_p95": _pct(first_delta_ms, 0.95),
        "reply_p50": _pct(reply_ms, 0.5),
        "reply_p95": _pct(reply_ms, 0.95),
        "failures": sum(1 for r in done if r[1] == Message.Status.FAILED),
        "retries": sum(max(0, (r[6] or 0) - 1) for r in done),
        "handoff_rate": (sum(1 for r in done if r[5]) / len(done)) if done else None,
        # Since Redis started, all sockets: replies a socket had to catch up (a lost or late
        # event), and the live events that came after their catch-up (late, not lost).
        "catch_ups": sum(delivered["catch_ups"].values()) if delivered else None,
        "catch_ups_message": sum(n for (_, kind), n in delivered["catch_ups"].items() if kind == "message")
        if delivered
        else None,
        "late_events": sum(delivered["late"].values()) if delivered else None,
        "thumbs_up": feedback["up"],
        "thumbs_down": feedback["down"],
        "rating_avg": ratings["avg"],
        "ratings": ratings["n"],
        "chart_replies": line_chart(per_minute, label="Replies per minute", unit="/min", minutes=MINUTES),
        "chart_tokens": line_chart(
            [t / 60 for t in tokens_per_minute], label="Tokens per second", unit="tok/s", minutes=MINUTES
        ),
        "chart_ttft": line_chart(
            [statistics.median(v) if v else 0.0 for v in ttft_per_minute],
            label="Median time to first token",
            unit="ms",
            minutes=MINUTES,
        ),
    }


@staff_member_required
def ops(request: HttpRequest) -> HttpResponse:
    return render(request, "ops.html", snapshot())
