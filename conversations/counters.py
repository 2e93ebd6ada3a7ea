"""Counters and histograms of what happens, kept in Redis so that every process adds to the
same figures: the web processes (conversations, votes, ratings, exports) and the workers
(replies, tokens, timings, takeovers), on however many machines. ``/metrics`` reads them
(chatsite/metrics.py).

Redis rather than prometheus-client's multiprocess mode: that mode sums files that the
processes of *one machine* share, and Parley's workers run on other machines than its web
servers, with no endpoint of their own to scrape. Redis is already the one place every
process reaches. Counters only go up: an event is counted when it happens (after its
transaction commits), never derived from rows that later change or are purged. A Redis that
loses its data starts them from zero, which Prometheus reads as a counter reset.

Counting never fails the caller: a Redis that is away costs the figures, not the request.
"""

from __future__ import annotations

import logging
from typing import Final

import redis
from django.db import transaction

from conversations.redis_client import key, redis_client

logger = logging.getLogger(__name__)

# name (without ``_total``) -> (help, label names)
COUNTERS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "parley_conversations_started": ("Conversations started", ()),
    "parley_customer_messages": ("Messages customers sent", ()),
    "parley_replies": ("Bot replies that ended, by outcome", ("status",)),
    "parley_generation_tokens": ("Tokens generated for replies that ended", ()),
    "parley_prompt_tokens": ("Prompt tokens processed for replies that ended", ()),
    "parley_handoffs": ("Replies that handed the conversation to a person", ()),
    "parley_generation_attempts": ("Replies claimed for generation, retries and takeovers included", ()),
    "parley_reply_takeovers": ("Replies taken over from a worker whose lease lapsed", ()),
    "parley_feedback": ("Thumbs customers gave bot replies (a changed vote counts again)", ("value",)),
    "parley_conversation_ratings": ("Ratings customers gave (a changed rating counts again)", ()),
    "parley_conversation_rating_stars": ("Stars in the ratings customers gave", ()),
    "parley_conversations_purged": ("Conversations deleted by the retention purge", ()),
    "parley_conversations_exported": ("Conversations exported (data-subject requests, admin exports)", ()),
    "parley_conversations_erased": ("Conversations erased on request (staff API, admin)", ()),
}
# The label values every scrape shows, counted or not yet.
LABEL_VALUES: Final[dict[str, list[tuple[str, ...]]]] = {
    "parley_replies": [("complete",), ("failed",)],
    "parley_feedback": [("up",), ("down",)],
}
TTFT_BUCKETS_S: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLY_BUCKETS_S: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PICKUP_BUCKETS_S: Final = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0)
# name -> (help, bucket upper bounds in seconds)
HISTOGRAMS: Final[dict[str, tuple[str, tuple[float, ...]]]] = {
    "parley_generation_time_to_first_token_seconds": (
        "Time from the engine taking a request to its first token",
        TTFT_BUCKETS_S,
    ),
    "parley_first_delta_seconds": (
        "Time from the customer's message stored to the reply's first text sent",
        TTFT_BUCKETS_S,
    ),
    "parley_reply_seconds": ("Time to produce a whole reply", REPLY_BUCKETS_S),
    "parley_pickup_seconds": (
        "Time from the bot handing a conversation over to a person taking it (takeover or reply)",
        PICKUP_BUCKETS_S,
    ),
}


def _hash() -> str:
    return key("metrics")


def _counter_field(name: str, labels: tuple[str, ...]) -> str:
    return "|".join((name, *labels))


def count(name: str, amount: float = 1, *labels: str) -> None:
    """Add ``amount`` to counter ``name`` (with ``labels``, in ``COUNTERS``' order) once the
    caller's transaction commits (at once outside one)."""
    assert name in COUNTERS and len(labels) == len(COUNTERS[name][1]), name
    if amount <= 0:
        return
    _queue([("float", _counter_field(name, labels), amount)])


def observe(name: str, seconds: float) -> None:
    """Record one observation of histogram ``name`` once the caller's transaction commits."""
    buckets = HISTOGRAMS[name][1]
    index = next((i for i, bound in enumerate(buckets) if seconds <= bound), len(buckets))
    _queue([("int", f"{name}|bucket|{index}", 1), ("int", f"{name}|count", 1), ("float", f"{name}|sum", seconds)])


class _Batch:
    """The updates one transaction makes, sent in one round trip when it commits."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, float]] = []
        self.sent = False

    def send(self) -> None:
        self.sent = True
        _send(self.updates)


def _queue(updates: list[tuple[str, str, float]]) -> None:
    """Send ``updates`` once the caller's transaction commits, with every other update the
    same transaction makes: a reply that ends counts six figures in one Redis round trip, not
    six. Outside a transaction they go at once."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _send(updates)
        return
    # Joined: a batch not sent yet, among the commit callbacks and registered at this savepoint
    # depth, so that a savepoint rolled back drops its updates as it drops its callbacks.
    here = set(connection.savepoint_ids)
    pending = (getattr(f, "__self__", None) for sids, f, _ in connection.run_on_commit if sids == here)
    batch = next((b for b in pending if isinstance(b, _Batch) and not b.sent), None)
    if batch is None:
        batch = _Batch()
        transaction.on_commit(batch.send, robust=True)
    batch.updates.extend(updates)


def _send(updates: list[tuple[str, str, float]]) -> None:
    try:
        pipe = redis_client().pipeline(transaction=False)
        for kind, field, amount in updates:
            if kind == "int":
                pipe.hincrby(_hash(), field, int(amount))
            else:
                pipe.hincrbyfloat(_hash(), field, amount)
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not count %s", ", ".join(field for _, field, _ in updates), exc_info=True)


def read() -> dict[str, float]:
    """Every stored figure by field (``name|label...``, ``name|bucket|i``, ``name|count``,
    ``name|sum``). Raises ``redis.RedisError`` when Redis is unreachable."""
    raw: dict[bytes, bytes] = redis_client().hgetall(_hash())  # type: ignore[assignment]
    return {k.decode(): float(v) for k, v in raw.items()}


def counter_samples(figures: dict[str, float], name: str) -> list[tuple[list[str], float]]:
    """The samples of counter ``name`` in ``figures``: label values and value."""
    if not COUNTERS[name][1]:
        return [([], figures.get(name, 0.0))]
    prefix = name + "|"
    found = {
        tuple(field[len(prefix) :].split("|")): value for field, value in figures.items() if field.startswith(prefix)
    }
    for labels in LABEL_VALUES.get(name, []):
        found.setdefault(labels, 0.0)
    return [(list(labels), value) for labels, value in sorted(found.items())]


def histogram_samples(figures: dict[str, float], name: str) -> tuple[list[tuple[str, float]], float]:
    """Cumulative buckets ``(le, count)`` (``+Inf`` last) and the sum of histogram ``name``."""
    buckets = HISTOGRAMS[name][1]
    cumulative, running = [], 0.0
    for i, bound in enumerate(buckets):
        running += figures.get(f"{name}|bucket|{i}", 0.0)
        cumulative.append((str(bound), running))
    running += figures.get(f"{name}|bucket|{len(buckets)}", 0.0)
    cumulative.append(("+Inf", running))
    return cumulative, figures.get(f"{name}|sum", 0.0)
