"""Load: N simulated customers chat for a bounded time against a running Parley, then every
acknowledged message and every reply is checked to be stored exactly once.

    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --customers 30 --seconds 60

Each customer opens a conversation, sends a unique message every 1-4 s over the websocket,
reconnects (and resends its outbox) if the socket drops, like the widget. At the end each
conversation's messages are fetched over HTTP and compared with what was acknowledged.
Exit status 1 if anything acknowledged is missing or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

import websockets


def http(url: str, *, data: bytes | None = None, token: str | None = None, timeout: float = 20) -> Any:
    """A JSON call to the customer API: POST with ``data``, else GET; ``token`` authorises it."""
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class Customer:
    conv: dict[str, Any]
    acked: dict[str, str] = field(default_factory=dict)  # client_id -> message id
    sent_at: dict[str, float] = field(default_factory=dict)
    replies: set[str] = field(default_factory=set)
    reply_latency: list[float] = field(default_factory=list)
    rate_limited: int = 0
    reconnects: int = 0


async def run_customer(url: str, customer: Customer, until: float, rng: random.Random) -> None:
    outbox: dict[str, str] = {}
    n = 0
    while time.monotonic() < until:
        try:
            async with websockets.connect(customer.conv["ws_url"], origin=url, compression=None) as ws:  # type: ignore[arg-type]
                for client_id, text in outbox.items():
                    await ws.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))
                next_send = time.monotonic()
                while time.monotonic() < until or outbox:
                    if time.monotonic() >= next_send and time.monotonic() < until:
                        n += 1
                        client_id = str(uuid.uuid4())
                        text = f"load {customer.conv['id'][:8]} #{n}: how long does shipping take?"
                        outbox[client_id] = text
                        customer.sent_at[client_id] = time.perf_counter()
                        await ws.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))
                        next_send = time.monotonic() + rng.uniform(1, 4)
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    except TimeoutError:
                        if time.monotonic() > until + 30:
                            return
                        continue
                    if frame["type"] == "ack":
                        customer.acked[frame["client_id"]] = frame["message"]["id"]
                        outbox.pop(frame["client_id"], None)
                    elif frame["type"] == "message" and frame["message"]["role"] == "assistant":
                        customer.replies.add(frame["message"]["id"])
                    elif frame["type"] == "error" and frame.get("code") == "rate_limited":
                        customer.rate_limited += 1
                        outbox.pop(frame.get("client_id", ""), None)
                return
        except (OSError, websockets.ConnectionClosed):
            customer.reconnects += 1
            await asyncio.sleep(0.5)


async def main_async(args: argparse.Namespace) -> int:
    rng = random.Random(7)
    customers = [
        Customer(await asyncio.to_thread(http, args.url + "/api/conversations/", data=b"{}"))
        for _ in range(args.customers)
    ]
    started = time.monotonic()
    await asyncio.gather(
        *(run_customer(args.url, c, started + args.seconds, random.Random(rng.random())) for c in customers)
    )
    elapsed = time.monotonic() - started
    await asyncio.sleep(args.settle)
    lost = doubled = missing_replies = open_replies = 0
    acked_total = replies_total = 0
    for c in customers:
        stored = (
            await asyncio.to_thread(
                http, f"{args.url}/api/conversations/{c.conv['id']}/messages/?after=0", token=c.conv["token"]
            )
        )["messages"]
        ids = [m["id"] for m in stored]
        acked_total += len(c.acked)
        for message_id in c.acked.values():
            count = ids.count(message_id)
            lost += count == 0
            doubled += count > 1
        doubled += len(ids) - len(set(ids))
        customer_texts = [m["text"] for m in stored if m["role"] == "customer"]
        doubled += len(customer_texts) - len(set(customer_texts))
        assistant = [m for m in stored if m["role"] == "assistant"]
        replies_total += len(assistant)
        open_replies += sum(1 for m in assistant if m["status"] in ("pending", "streaming"))
        missing_replies += sum(1 for r in c.replies if r not in ids)
    print(
        f"customers {args.customers}, {elapsed:.0f}s of chatting, {acked_total} messages acknowledged, {replies_total} replies stored"
    )
    print(
        f"reconnects {sum(c.reconnects for c in customers)}, rate-limited sends {sum(c.rate_limited for c in customers)}"
    )
    print(
        f"lost acknowledged messages: {lost}; doubled messages: {doubled}; replies seen but not stored: {missing_replies}; "
        f"replies still open after {args.settle}s: {open_replies}"
    )
    return 1 if lost or doubled or missing_replies else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--settle", type=int, default=20, help="seconds to let the last replies finish")
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
