"""Soak: many customers, a new websocket for every question, against a running Parley; every
reply must reach the customer who waits for it.

    .venv/bin/python bench/soak.py --url http://127.0.0.1:8011 --customers 150 --turns 4

Each customer opens a conversation and arrives within ``--arrive`` seconds; each turn it opens
a new websocket (a customer moving from page to page), thinks a moment, asks a question of the
demo knowledge base, waits for the final ``message`` of the reply its ``ack`` named
(``reply_id``), keeps the socket open while it reads (``--pause``) and closes it. A reply whose
final message has not come ``--wait`` seconds after the ack leaves its customer waiting.

Reported: replies delivered live, delivered by the server's catch-up (frames marked
``catch_up``), customers left waiting (the target is 0), text ever taken back or a reply shown
twice (both must be 0), the time from ack to the final message, how long a caught-up reply had
been silent, and the server's own catch-up counters from ``/metrics``. The run is bounded
(``--seconds``: no turn starts after it) and talks only to a loopback address. Exit status 1
when a customer was left waiting or a reply was doubled or retracted.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import re
import socket
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import load

EVAL_FILE = Path(__file__).resolve().parent.parent / "generation" / "data" / "demo_eval.json"
FINAL = ("complete", "failed")


def questions() -> list[str]:
    rows = json.loads(EVAL_FILE.read_text())
    return [row["question"] for row in rows if row.get("source")]


def loopback_only(url: str) -> None:
    """The soak sends traffic to this machine only: refuse any other address."""
    host = urllib.parse.urlsplit(url).hostname or ""
    for info in socket.getaddrinfo(host, None):
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise SystemExit(f"{url}: the soak only talks to a loopback address")


def http(url: str, *, data: bytes | None = None, token: str | None = None) -> Any:
    return load.http(url, data=data, token=token, timeout=30)


def catchup_counters(url: str) -> dict[str, float]:
    """The server's ``parley_reply_catchups_total`` samples, by their labels ({} if it has none)."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"(parley_reply_(?:catchups|late_events)_total)(\{[^}]*\})? ([0-9.e+]+)$", line)
        if match:
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


@dataclass
class Turn:
    reply_id: str = ""
    acked_at: float = 0.0
    acked_wall: float = 0.0  # the ack's wall-clock time, to compare with the server's timestamps
    last_frame_at: float = 0.0
    text: str = ""  # what this customer has of the reply: deltas, then the final text
    finals: int = 0
    final_at: float = 0.0
    caught_up: bool = False
    silence_s: float = 0.0  # for a caught-up reply: quiet time before the catch-up frame
    retracted: bool = False
    frames_caught_up: int = 0


@dataclass
class Customer:
    conv: dict[str, Any]
    turns: list[Turn] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def on_frame(turn: Turn, frame: dict[str, Any], now: float) -> None:
    """Apply one frame to what the customer sees, the way the widget does, and note anything
    a customer would notice: text taken back, a reply shown twice."""
    kind = frame.get("type")
    if kind == "delta" and frame.get("message_id") == turn.reply_id:
        offset, text = int(frame["offset"]), str(frame["text"])
        if offset > len(turn.text):
            pass  # a gap: this client cannot place it; the final message fills it in
        elif offset + len(text) > len(turn.text):
            turn.text += text[len(turn.text) - offset :]
        if frame.get("catch_up"):
            turn.frames_caught_up += 1
            if not turn.caught_up:
                turn.silence_s = now - turn.last_frame_at
        turn.last_frame_at = now
    elif kind == "message" and frame["message"]["id"] == turn.reply_id and frame["message"]["status"] in FINAL:
        final = str(frame["message"]["text"])
        if not final.startswith(turn.text):
            turn.retracted = True
        turn.text = final
        turn.finals += 1
        if turn.finals == 1:
            turn.final_at = now
            if frame.get("catch_up"):
                turn.caught_up = True
                turn.silence_s = now - turn.last_frame_at
        turn.last_frame_at = now


async def run_turn(customer: Customer, question: str, args: argparse.Namespace, rng: random.Random, url: str) -> Turn:
    turn = Turn()
    client_id = str(uuid.uuid4())
    async with websockets.connect(
        customer.conv["ws_url"],
        origin=url,  # type: ignore[arg-type]
        compression=None,
        max_queue=None,
    ) as ws:
        await asyncio.sleep(rng.uniform(0.2, 1.5))  # typing the question
        await ws.send(json.dumps({"type": "message", "text": question, "client_id": client_id}))
        deadline = time.monotonic() + args.wait
        while turn.finals == 0 or time.monotonic() < turn.final_at + 0.5:  # linger: a second final?
            left = (turn.final_at + 0.5 if turn.finals else deadline) - time.monotonic()
            if left <= 0:
                break
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), left))
            except TimeoutError:
                break
            now = time.monotonic()
            if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                turn.reply_id = frame.get("reply_id") or ""
                turn.acked_at = turn.last_frame_at = now
                turn.acked_wall = time.time()
                if not turn.reply_id:
                    customer.errors.append("ack without reply_id")
                    return turn
                deadline = now + args.wait
            elif frame.get("type") == "error":
                customer.errors.append(f"{frame.get('code')}: {frame.get('detail')}")
                return turn
            else:
                on_frame(turn, frame, now)
        await asyncio.sleep(rng.uniform(*args.pause))  # reading the answer, socket still open
    return turn


async def run_customer(customer: Customer, args: argparse.Namespace, rng: random.Random, stop_at: float) -> None:
    await asyncio.sleep(rng.uniform(0, args.arrive))
    pool = questions()
    for _ in range(args.turns):
        if time.monotonic() >= stop_at:
            return
        try:
            customer.turns.append(await run_turn(customer, rng.choice(pool), args, rng, args.url))
        except (OSError, websockets.ConnectionClosed) as exc:
            customer.errors.append(f"socket: {exc}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def main_async(args: argparse.Namespace) -> int:
    loopback_only(args.url)
    before = await asyncio.to_thread(catchup_counters, args.url)
    rng = random.Random(args.seed)
    customers = []
    for _ in range(args.customers):
        conv = await asyncio.to_thread(http, args.url + "/api/conversations/", data=b"{}")
        customers.append(Customer(conv))
    started = time.monotonic()
    await asyncio.gather(
        *(run_customer(c, args, random.Random(rng.random()), started + args.seconds) for c in customers)
    )
    elapsed = time.monotonic() - started
    after = await asyncio.to_thread(catchup_counters, args.url)

    turns = [t for c in customers for t in c.turns if t.reply_id]
    live = [t for t in turns if t.finals and not t.caught_up]
    caught = [t for t in turns if t.caught_up]
    waiting = [(c, t) for c in customers for t in c.turns if t.reply_id and not t.finals]
    doubled = sum(1 for t in turns if t.finals > 1)
    retracted = sum(1 for t in turns if t.retracted)
    text_caught = sum(1 for t in turns if t.frames_caught_up)
    reply_s = [t.final_at - t.acked_at for t in turns if t.finals]
    print(
        f"customers {args.customers}, turns {len(turns)} with a reply, {elapsed:.0f} s, "
        f"errors {sum(len(c.errors) for c in customers)}"
    )
    print(
        f"replies delivered live {len(live)}, caught up {len(caught)} "
        f"(+{text_caught} with text caught up mid-stream), left waiting {len(waiting)}; "
        f"shown twice {doubled}, text taken back {retracted}"
    )
    if reply_s:
        print(
            f"ack to final message: p50 {pct(reply_s, 0.5):.2f} s, p95 {pct(reply_s, 0.95):.2f} s, max {max(reply_s):.2f} s"
        )
    if caught:
        silences = [t.silence_s for t in caught]
        print(
            f"caught-up replies: silent {statistics.median(silences):.2f} s (median), "
            f"{max(silences):.2f} s (max) before the catch-up"
        )
    counters = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in sorted(set(before) | set(after))}
    print("server counters during the run: " + (", ".join(f"{k} +{v:g}" for k, v in counters.items()) or "none"))
    if args.dump:
        rows = [
            {
                "conversation": c.conv["id"],
                "reply_id": t.reply_id,
                "acked_at": t.acked_wall,
                "final_at": t.final_at - t.acked_at + t.acked_wall if t.finals else None,
                "caught_up": t.caught_up,
            }
            for c in customers
            for t in c.turns
            if t.reply_id
        ]
        Path(args.dump).write_text(json.dumps(rows))
    for c, t in waiting[:10]:
        stored = await asyncio.to_thread(
            http, f"{args.url}/api/conversations/{c.conv['id']}/messages/?after=0", token=c.conv["token"]
        )
        row = next((m for m in stored["messages"] if m["id"] == t.reply_id), None)
        print(f"  left waiting: reply {t.reply_id} stored as {row['status'] if row else 'nothing'}")
    for c in customers:
        for error in c.errors[:3]:
            print(f"  error ({c.conv['id'][:8]}): {error}")
    return 1 if waiting or doubled or retracted else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--turns", type=int, default=4, help="questions per customer, a new socket each")
    parser.add_argument("--arrive", type=float, default=20.0, help="customers arrive within this many seconds")
    parser.add_argument("--pause", type=float, nargs=2, default=(2.0, 8.0), help="reading time, socket open")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds after the ack before giving up")
    parser.add_argument("--seconds", type=float, default=240.0, help="no turn starts after this")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--dump", help="write every turn (reply id, ack and final times) to this JSON file")
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
