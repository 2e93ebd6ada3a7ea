"""The cost of one channel-layer group send, three ways, on a real Redis.

    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/streaming.py

1. ``async_to_sync(group_send)`` per delta: a new event loop, so new Redis connections, per call
2. Parley's publisher (``conversations.streaming``): one event loop per process in a daemon
   thread; a sync caller hands each send over and waits for it (keeps deltas in order)
3. sends inside one event loop (the floor)
4. the same with channels-redis's own group send (four round trips a send; Parley's layer,
   chatsite/channel_layer.py, makes two)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django

django.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer  # noqa: E402

from conversations import streaming  # noqa: E402

N = 500
EVENT = {"type": "conversation.delta", "message_id": "m", "text": "some streamed words ", "offset": 0}


def per_call(layer: object) -> float:
    started = time.perf_counter()
    for _ in range(N):
        async_to_sync(layer.group_send)("bench.group", EVENT)  # type: ignore[attr-defined]
    return (time.perf_counter() - started) / N


def publisher(layer: object) -> float:
    started = time.perf_counter()
    for _ in range(N):
        streaming.run_coroutine(layer.group_send("bench.group", EVENT))  # type: ignore[attr-defined]
    return (time.perf_counter() - started) / N


def one_loop(layer: object) -> float:
    async def run() -> float:
        started = time.perf_counter()
        for _ in range(N):
            await layer.group_send("bench.group", EVENT)  # type: ignore[attr-defined]
        return (time.perf_counter() - started) / N

    return asyncio.run(run())


def main() -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_add)("bench.group", "bench.listener")  # type: ignore[union-attr]
    publisher(layer)  # warm the publisher's loop and pool
    stock = StockRedisChannelLayer(hosts=layer.hosts, prefix=layer.prefix)  # type: ignore[union-attr]
    rows = [
        ("async_to_sync per send", per_call(layer)),
        ("Parley publisher loop", publisher(layer)),
        ("inside one event loop", one_loop(layer)),
        ("... channels-redis's send", one_loop(stock)),
    ]
    base = rows[0][1]
    print(f"{N} group sends to a group of one, Redis at {os.environ.get('REDIS_URL', 'embedded')}")
    for name, seconds in rows:
        print(f"{name:<26} {seconds * 1000:7.3f} ms a send   {base / seconds:5.1f}x faster than per-call")


if __name__ == "__main__":
    main()
