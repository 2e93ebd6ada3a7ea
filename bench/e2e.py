"""End-to-end latency through the real websocket, against a running Parley (`make run`).

    .venv/bin/python bench/e2e.py --url http://127.0.0.1:8000 --concurrency 1 4 16

For each concurrency level, that many customers each open a conversation and ask a question
at the same moment (``--rounds`` times over, and as often as it takes to make
``--min-replies``: the one-customer level, the base of every ratio, gets 16 replies, not
three); prints time to ack, first delta and full reply (median, p95), replies per second
with the ratio of each level to the first one, and the delta frames a reply came in. With
``--data-dir`` (the server's DATA_DIR) it also reads what the worker stored: the engine's own
time to first token, and how long each reply waited for a worker; the overhead is taken reply
by reply (first delta through the websocket minus that reply's engine first token).

``--questions kb`` (default) asks the answerable questions of the demo evaluation set, so
replies go through retrieval, evidence, the model and the fact gate (the share the model wrote
is printed); ``--questions smalltalk`` asks greetings and a handoff request.

Against a server on this machine it also prints the CPU time each reply cost, split by process
and, inside the worker, by thread (engine, embedding, the reply loop), with how many of the
machine's cores were busy: ``bench/cpu.py`` reads it from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import django
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import cpu

SMALLTALK = [
    "Hello, how are you?",
    "Can I speak to a person?",
    "Who are you?",
    "Thank you",
]
EVAL_FILE = Path(__file__).resolve().parent.parent / "generation" / "data" / "demo_eval.json"


def questions(kind: str) -> list[str]:
    if kind == "smalltalk":
        return SMALLTALK
    rows = json.loads(EVAL_FILE.read_text())
    return [row["question"] for row in rows if row.get("source")]


def create_conversation(url: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url + "/api/conversations/", data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


async def one_customer(url: str, question: str) -> dict[str, Any]:
    conv = await asyncio.to_thread(create_conversation, url)
    async with websockets.connect(conv["ws_url"], origin=url, compression=None) as ws:  # type: ignore[arg-type]
        sent = time.perf_counter()
        await ws.send(json.dumps({"type": "message", "text": question, "client_id": str(uuid.uuid4())}))
        result: dict[str, Any] = {}
        async for raw in ws:
            frame = json.loads(raw)
            now = time.perf_counter() - sent
            if frame["type"] == "ack":
                result["ack"] = now
            elif frame["type"] == "delta":
                result["deltas"] = result.get("deltas", 0) + 1
                result.setdefault("first_delta", now)
            elif frame["type"] == "message" and frame["message"]["role"] == "assistant":
                result["reply"] = now
                result["reply_id"] = frame["message"]["id"]
                result.setdefault("first_delta", now)
                result["chars"] = len(frame["message"]["text"])
                result["mode"] = frame["message"].get("mode", "")
                return result
    raise RuntimeError("socket closed before the reply")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def worker_figures(reply_ids: list[str]) -> dict[str, tuple[int | None, int | None, int | None]]:
    """As the worker stored them for these replies, by reply id: the engine's own time to first
    token, the time the reply waited for a worker (stored -> claimed), and the time from the
    customer's message stored to the first delta sent."""
    from conversations.models import Message  # noqa: PLC0415 - Django is set up only with --data-dir

    rows = Message.objects.filter(id__in=reply_ids).values_list("id", "first_token_ms", "queued_ms", "first_delta_ms")
    return {str(pk): (first, queued, delta) for pk, first, queued, delta in rows}


async def level(
    url: str, n: int, with_db: bool, asked: list[str], *, rounds: int = 1, server: cpu.Server | None = None
) -> dict[str, Any]:
    """``n`` customers at once, ``rounds`` times over; figures pooled over the rounds."""
    results: list[dict[str, Any]] = []
    wall = 0.0
    before = server.sample() if server else {}
    for round_no in range(rounds):
        started = time.perf_counter()
        batch = [asked[(round_no * n + i) % len(asked)] for i in range(n)]
        results += await asyncio.gather(*(one_customer(url, question) for question in batch))
        wall += time.perf_counter() - started
    out: dict[str, Any] = {"n": n, "wall_s": wall}
    if server:
        out["cpu_s"] = cpu.spent(before, server.sample())
    out["model_written"] = sum(r.get("mode") == "model" for r in results)
    out["replies"] = len(results)
    if with_db:
        stored = await asyncio.to_thread(worker_figures, [str(r["reply_id"]) for r in results])
        engine: list[tuple[dict[str, Any], float]] = []
        split: list[tuple[float, float]] = []  # (worker side, web side) of each reply's overhead
        for result in results:
            first, _, sent = stored.get(result["reply_id"], (None, None, None))
            if first is not None:
                engine.append((result, float(first)))
                if sent is not None:
                    split.append((sent - first, result["first_delta"] * 1000 - sent))
        queued = [float(q) for _, q, _ in stored.values() if q is not None]
        nan = float("nan")
        out["engine_replies"] = len(engine)
        out["engine_ttft_p50"] = statistics.median(t for _, t in engine) if engine else nan
        out["ws_first_p50"] = statistics.median(r["first_delta"] * 1000 for r, _ in engine) if engine else nan
        out["overhead_p50"] = statistics.median(r["first_delta"] * 1000 - t for r, t in engine) if engine else nan
        out["queued_p50"] = statistics.median(queued) if queued else nan
        out["worker_side_p50"] = statistics.median(w for w, _ in split) if split else nan
        out["web_side_p50"] = statistics.median(w for _, w in split) if split else nan
    for key in ("ack", "first_delta", "reply"):
        values = [r[key] * 1000 for r in results]
        out[f"{key}_p50"] = statistics.median(values)
        out[f"{key}_p95"] = pct(values, 0.95)
    out["replies_per_s"] = n * rounds / wall
    out["deltas_p50"] = statistics.median(r.get("deltas", 0) for r in results)
    return out


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


def print_cpu(rows: list[dict[str, Any]]) -> None:
    """CPU milliseconds per reply by process (and worker thread), and the cores kept busy."""
    groups = [*cpu.GROUPS, "load generator"]
    short = {"worker: engine": "engine+query", "worker: embedding": "embed KB", "worker: reply loop": "reply loop"}
    print("\nCPU time per reply (ms), by process; inside the worker by thread; cores busy = CPU s / wall s:")
    short["load generator"] = "this client"
    header = ["customers", *(short.get(g, g) for g in groups), "server", "cores busy"]
    print("".join(f"{h:>12}" for h in header))
    for row in rows:
        spent, replies = row["cpu_s"], row["replies"]
        server = sum(spent[g] for g in cpu.GROUPS)
        cells = [f"{row['n']:.0f}", *(f"{spent[g] * 1000 / replies:.1f}" for g in groups)]
        cells += [f"{server * 1000 / replies:.1f}", f"{(server + spent['load generator']) / row['wall_s']:.2f}"]
        print("".join(f"{c:>12}" for c in cells))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def open_idle(url: str, conv: dict[str, Any], gate: asyncio.Semaphore) -> Any:
    async with gate:
        return await websockets.connect(conv["ws_url"], origin=url, compression=None, open_timeout=60)  # type: ignore[arg-type]


async def answers_cheap_frame(ws: Any, gate: asyncio.Semaphore) -> bool:
    """Resume (an empty history) and send an unknown frame type: a live socket answers the latter
    with an ``error`` frame."""
    async with gate:
        try:
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            await ws.send(json.dumps({"type": "shout"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["type"] == "error":
                    return True
        except (websockets.ConnectionClosed, TimeoutError):
            return False


async def answers_question(ws: Any, question: str) -> float | None:
    """Ask ``question`` on an idle socket; seconds until the assistant's stored reply, or None."""
    sent = time.perf_counter()
    try:
        await ws.send(json.dumps({"type": "message", "text": question, "client_id": str(uuid.uuid4())}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame["type"] == "message" and frame["message"]["role"] == "assistant":
                return time.perf_counter() - sent
    except (websockets.ConnectionClosed, TimeoutError):
        return None


async def idle_connections(url: str, count: int, hold: float, sample: int) -> None:
    """Open ``count`` websockets to one ASGI process (64 handshakes at a time), hold them idle
    for ``hold`` seconds (keepalive pings go both ways meanwhile), then check that every one
    still answers a cheap frame and that ``sample`` of them get a reply to a question."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < count + 100:
        raise SystemExit(f"this process may open {hard} files; {count} sockets need more (ulimit -Hn)")
    pid = cpu.listening_pid(port_of(url))
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        conversations = list(pool.map(lambda _: create_conversation(url), range(count)))
    print(f"created {count} conversations in {time.perf_counter() - started:.1f}s", flush=True)
    before, fds_before = rss_kb(pid), fd_count(pid)
    started = time.perf_counter()
    gate = asyncio.Semaphore(64)
    sockets = await asyncio.gather(*(open_idle(url, conv, gate) for conv in conversations))
    opened = time.perf_counter() - started
    print(f"opened {count} websockets in {opened:.1f}s ({count / opened:.0f}/s); holding {hold:.0f}s", flush=True)
    await asyncio.sleep(hold)
    after, fds_after = rss_kb(pid), fd_count(pid)
    closed = sum(ws.close_code is not None for ws in sockets)
    started = time.perf_counter()
    gate = asyncio.Semaphore(256)
    alive = sum(await asyncio.gather(*(answers_cheap_frame(ws, gate) for ws in sockets)))
    checked = time.perf_counter() - started
    asked = questions("kb")
    step = max(1, count // max(1, sample))
    replies = await asyncio.gather(
        *(answers_question(ws, asked[i % len(asked)]) for i, ws in enumerate(sockets[::step][:sample]))
    )
    answered = sorted(r for r in replies if r is not None)
    end_rss = rss_kb(pid)
    await asyncio.gather(*(ws.close() for ws in sockets))
    print(f"idle websockets held by one ASGI process (pid {pid}): {alive}/{count} still answering")
    print(f"closed while idle: {closed}; server file descriptors {fds_before} -> {fds_after}")
    print(
        f"opened in {opened:.1f}s; server RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB, "
        f"{(after - before) / count:.1f} KB per connection ({end_rss / 1024:.1f} MB after the checks)"
    )
    print(f"the cheap-frame check of all {count} took {checked:.1f}s (256 sockets in flight)")
    if sample:
        p50 = f", reply p50 {pct(answered, 0.5):.2f}s, max {answered[-1]:.2f}s" if answered else ""
        print(f"questions asked on {len(replies)} of the idle sockets: {len(answered)} answered{p50}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="run each level this many times (pooled figures)")
    parser.add_argument(
        "--min-replies", type=int, default=16, help="more rounds for a level with fewer replies than this"
    )
    parser.add_argument("--idle", type=int, default=0, help="instead: hold this many idle websockets")
    parser.add_argument("--hold", type=float, default=2, help="with --idle: seconds to hold them idle")
    parser.add_argument("--sample", type=int, default=10, help="with --idle: ask a question on this many of them")
    parser.add_argument("--data-dir", help="the server's DATA_DIR: also read the engine's own first-token times")
    parser.add_argument("--questions", choices=["smalltalk", "kb"], default="kb")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU split (a server on another machine)")
    parser.add_argument("--redis-pid", type=int, help="a shared Redis server's pid, to count its CPU too")
    args = parser.parse_args()
    if args.data_dir:
        os.environ["DATA_DIR"] = args.data_dir
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        django.setup()
    if args.idle:
        asyncio.run(idle_connections(args.url, args.idle, args.hold, args.sample))
        return
    asked = questions(args.questions)
    server = None if args.no_cpu else cpu.Server.find(port_of(args.url), args.redis_pid)
    if server:
        print(f"server processes: {server.describe()}; {os.cpu_count()} cores")
    for i in range(args.warmup):
        asyncio.run(one_customer(args.url, asked[-1 - i % len(asked)]))
    rounds = {n: max(args.rounds, math.ceil(args.min_replies / n)) for n in args.concurrency}
    rows = [
        asyncio.run(level(args.url, n, bool(args.data_dir), asked, rounds=rounds[n], server=server))
        for n in args.concurrency
    ]
    base = rows[0]["replies_per_s"]
    header = (
        "customers",
        "ack p50",
        "1st text p50",
        "p95",
        "reply p50",
        "p95",
        "replies/s",
        "x base",
        "model wrote",
        "deltas",
    )
    print("".join(f"{h:>14}" for h in header))
    for row in rows:
        cells = [
            f"{row['n']:.0f}",
            f"{row['ack_p50']:.1f} ms",
            f"{row['first_delta_p50']:.1f} ms",
            f"{row['first_delta_p95']:.1f} ms",
            f"{row['reply_p50']:.0f} ms",
            f"{row['reply_p95']:.0f} ms",
            f"{row['replies_per_s']:.2f}",
            f"{row['replies_per_s'] / base:.2f}",
            f"{row['model_written']}/{row['replies']}",
            f"{row['deltas_p50']:.0f}",
        ]
        print("".join(f"{c:>14}" for c in cells))
    if server:
        print_cpu(rows)
    if args.data_dir:
        print("\nfirst delta through the websocket against the engine's own first token (medians over the")
        print("replies the engine wrote; overhead taken reply by reply):")
        for row in rows:
            print(
                f"  {row['n']:>3.0f} customers ({row['engine_replies']:.0f} replies): engine "
                f"{row['engine_ttft_p50']:.0f} ms, websocket {row['ws_first_p50']:.0f} ms, overhead "
                f"{row['overhead_p50']:.0f} ms, of which waiting for a worker {row['queued_p50']:.0f} ms"
            )
        print("the overhead split where the worker stored its first delta's time (medians): worker side =")
        print("message stored -> first delta sent, less the engine's first token; web side = the rest")
        print("(frame received, message stored, delta relayed):")
        for row in rows:
            print(
                f"  {row['n']:>3.0f} customers: worker side {row['worker_side_p50']:.1f} ms, "
                f"web side {row['web_side_p50']:.1f} ms"
            )


if __name__ == "__main__":
    main()
