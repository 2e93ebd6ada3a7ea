"""The web process's memory: start Parley's ASGI server as ``make run`` starts it, serve one
conversation through it, and print its resident memory and whether libtorch is mapped.

    .venv/bin/python bench/web_memory.py [--root CHECKOUT] [--no-worker] [--rounds N]

Everything runs in a data directory of its own (embedded Redis, SQLite, the demo knowledge
base). With a worker (the default), the reply is generated (by quoting the knowledge base:
no responder is trained here) and streamed to the customer through the web process, as in
``make run``; ``--no-worker`` stops at the ack. ``--root`` runs another checkout's code with
the same command lines (to compare versions); the processes use this interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.sync.client import connect  # noqa: E402

from chatsite import embedded_redis, runner  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def libtorch_mapped(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(0.2)


def converse(base: str, text: str, *, reply: bool) -> tuple[int, str]:
    """One customer: a new conversation, ``text`` on its websocket; returns how many deltas
    arrived and the reply's status (``"acked"`` without ``reply``)."""
    request = urllib.request.Request(
        base + "/api/conversations/", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        created = json.loads(response.read())
    deltas = 0
    with connect(created["ws_url"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "message", "text": text, "client_id": str(uuid.uuid4())}))
        while True:
            frame = json.loads(ws.recv(timeout=180))
            if frame["type"] == "ack" and not reply:
                return 0, "acked"
            deltas += frame["type"] == "delta"
            if frame["type"] == "message" and frame["message"]["role"] == "assistant":
                return deltas, str(frame["message"]["status"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code runs (default: this one)")
    parser.add_argument("--no-worker", action="store_true", help="no worker: measure after the ack only")
    parser.add_argument("--rounds", type=int, default=1, help="conversations served before measuring")
    args = parser.parse_args()
    root = args.root.resolve()
    data_dir = Path(tempfile.mkdtemp(prefix="pwm-", dir="/tmp"))  # short: it holds a Unix socket
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "GENERATION_MODEL")}
    env.update(DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING", RATE_LIMIT_MESSAGES_PER_ADDRESS="0")
    log = open(data_dir / "processes.log", "ab")  # noqa: SIM115
    children: list[subprocess.Popen[bytes]] = []
    redis = embedded_redis.start(data_dir)
    try:
        for command in (["migrate", "--noinput"], ["import_kb", "generation/data/demo_kb.json", "--if-empty"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=root, env=env, check=True, stdout=log)
        if not args.no_worker:
            worker = runner.worker_argv(queue="generation", concurrency=2, hostname=f"bench-{os.getpid()}@%h")
            children.append(subprocess.Popen(worker, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT))
        port = free_port()
        web = subprocess.Popen(
            runner.web_argv(host="127.0.0.1", port=port), cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        children.append(web)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: runner.answers(base + "/healthz"), 60, "uvicorn")
        started_kb = status_kb(web.pid, "VmRSS")
        results = [
            converse(base, "How long does delivery to Canada take?", reply=not args.no_worker)
            for _ in range(args.rounds)
        ]
        time.sleep(1)  # let the process settle before reading its memory
        rss, peak = status_kb(web.pid, "VmRSS"), status_kb(web.pid, "VmHWM")
        print(f"code: {root}")
        print(f"web process (uvicorn, pid {web.pid}) after serving {len(results)} conversation(s): {results}")
        print(f"  resident after start       {started_kb / 1024:7.1f} MB")
        print(f"  resident after serving     {rss / 1024:7.1f} MB   (peak {peak / 1024:.1f} MB)")
        print(f"  libtorch mapped            {'yes' if libtorch_mapped(web.pid) else 'no'}")
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        embedded_redis.stop(redis)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
