"""The scale-out layout of the README, run for real: two Uvicorn servers and two Celery workers
(and one beat) on a PostgreSQL database and a Redis server of their own, started with the
command lines ``make run`` uses (chatsite/runner.py), as the Procfile runs them.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth: CI's) and Redis on
127.0.0.1:6379; skipped, saying so, where either is unreachable. The test creates its own
database and Redis keys and removes them afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from chatsite import runner
from tests import factories
from tests.conftest import ROOT, service_env, start_beat, start_web, start_worker, stop_process
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/11"  # a database number of its own; keys prefixed per run


@dataclass
class Cluster:
    web_a: str
    web_b: str
    web_procs: dict[str, subprocess.Popen[bytes]]
    workers: dict[str, subprocess.Popen[bytes]]
    database_url: str

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, args).fetchall()  # type: ignore[arg-type]

    def replies_by_worker(self) -> dict[str, int]:
        rows = self.sql(
            "SELECT split_part(lease_owner, '@', 1), count(*) FROM conversations_message "
            "WHERE role = 'assistant' AND lease_owner <> '' GROUP BY 1"
        )
        return {name: count for name, count in rows}


def _reachable() -> str | None:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"SCALE-OUT TEST SKIPPED: PostgreSQL at 127.0.0.1:5432 is unreachable ({exc.__class__.__name__})"
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"SCALE-OUT TEST SKIPPED: Redis at 127.0.0.1:6379 is unreachable ({exc.__class__.__name__})"
    return None


@pytest.fixture(scope="module")
def cluster(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = _reachable()
    if reason and os.environ.get("PARLEY_REQUIRE_SCALEOUT"):
        pytest.fail(reason.replace("SKIPPED", "REQUIRED"))  # CI runs it on the servers it has
    if reason:
        pytest.skip(reason)
    run = uuid.uuid4().hex[:8]
    database = f"parley_scaleout_{run}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    database_url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    prefix, queue = f"parley-scaleout-{run}", f"scaleout-{run}"
    env = service_env(
        tiny_model_path,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        GENERATION_QUEUE=queue,
        DATA_DIR=str(tmp_path_factory.mktemp("scaleout")),  # shared, as a deployment's SECRET_KEY is
        GENERATION_MAX_NEW_TOKENS="120",
        STREAM_COALESCE_MS="40",
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, timeout=300
        )
        # A knowledge base whose question the workers' model writes a reply to (small talk gets
        # the bot's own line at once, which no worker could be killed in the middle of).
        kb = Path(env["DATA_DIR"]) / "kb.json"
        kb.write_text(json.dumps([factories.SHIPPING_ARTICLE]))
        subprocess.run([sys.executable, "manage.py", "import_kb", str(kb)], cwd=ROOT, env=env, check=True, timeout=300)
        workers = {}
        for name in (f"so-w1-{run}", f"so-w2-{run}"):
            workers[name] = start_worker(env, queue=queue, name=name, redis_url=REDIS_URL, key_prefix=prefix)
            procs.append(workers[name])
        procs.append(start_beat(env, queue=queue, schedule=Path(env["DATA_DIR"]) / "celerybeat-schedule"))
        web = {}
        for label in ("a", "b"):
            proc, url = start_web(env, log_name=f"test-scaleout-web-{label}.log")
            procs.append(proc)
            web[url] = proc
        web_a, web_b = list(web)
        yield Cluster(web_a, web_b, web, workers, database_url)
    finally:
        for proc in procs:
            stop_process(proc)
        client = redis.Redis.from_url(REDIS_URL)
        mine = [*client.scan_iter(f"{prefix}*", count=1000), *client.scan_iter(f"*{queue}*", count=1000)]
        if mine:
            client.delete(*mine)
        # The killed worker's unacknowledged tasks, which kombu keeps per Redis database.
        for tag, raw in client.hscan_iter("unacked"):
            if json.loads(raw)[-1] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# --- a customer, as the widget behaves ------------------------------------------------------------
@dataclass
class Customer:
    """One conversation's websocket client: lines deltas up by offset as the widget does, and
    notes any delta that would repeat or take back text it already has."""

    conversation: dict[str, Any]
    texts: dict[str, str] = field(default_factory=dict)  # reply id -> text from deltas
    final: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id -> final message
    seen_seqs: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def on_frame(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "delta":
            have = self.texts.get(frame["message_id"], "")
            offset, text = frame["offset"], frame["text"]
            if offset < len(have):
                self.problems.append(f"delta at {offset} repeats text already shown (have {len(have)})")
                if not have[offset:].startswith(text[: len(have) - offset]) and not text.startswith(have[offset:]):
                    self.problems.append("delta contradicts text already shown")
            elif offset == len(have):
                self.texts[frame["message_id"]] = have + text
            # offset beyond what we have: text recorded but never sent; the final message has it
        elif frame["type"] in ("message", "ack"):
            message = frame["message"]
            self.seen_seqs.add(message["seq"])
            if message["status"] in ("complete", "failed"):
                self.final[message["id"]] = message
                shown = self.texts.get(message["id"], "")
                if message["role"] == "assistant" and not message["text"].startswith(shown.rstrip()):
                    self.problems.append(f"final text {message['text']!r} takes back {shown!r}")


def create_conversation(base: str) -> dict[str, Any]:
    request = urllib.request.Request(
        base + "/api/conversations/", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def ws_url(base: str, conversation: dict[str, Any]) -> str:
    return base.replace("http://", "ws://") + f"/ws/conversations/{conversation['id']}/?token={conversation['token']}"


async def ask(
    ws: ClientConnection, customer: Customer, text: str, *, timeout: float = 90, deadline: float | None = None
) -> dict[str, Any]:
    """Send ``text`` and return the final reply to it (every frame goes through ``customer``)."""
    client_id = str(uuid.uuid4())
    await ws.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))
    return await until_reply(ws, customer, client_id, timeout=timeout)


async def until_reply(ws: ClientConnection, customer: Customer, client_id: str, *, timeout: float) -> dict[str, Any]:
    reply_id = None
    end = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, end - time.monotonic())))
        customer.on_frame(frame)
        if frame["type"] == "ack" and frame["client_id"] == client_id:
            reply_id = frame.get("reply_id")
        if reply_id and reply_id in customer.final:
            return customer.final[reply_id]


# --- the checks -----------------------------------------------------------------------------------
def test_a_conversation_watched_from_server_b_streams_what_a_customer_on_a_asked(cluster: Cluster) -> None:
    async def scenario() -> tuple[Customer, Customer, dict[str, Any], float]:
        conv = create_conversation(cluster.web_a)
        on_a, on_b = Customer(conv), Customer(conv)
        async with connect(ws_url(cluster.web_a, conv)) as ws_a, connect(ws_url(cluster.web_b, conv)) as ws_b:
            started = time.monotonic()
            reply = await ask(ws_a, on_a, "Hello, how are you?")
            end = time.monotonic() + 30
            while reply["id"] not in on_b.final:
                on_b.on_frame(json.loads(await asyncio.wait_for(ws_b.recv(), max(0.1, end - time.monotonic()))))
            return on_a, on_b, reply, time.monotonic() - started

    on_a, on_b, reply, elapsed = asyncio.run(scenario())
    print(f"watched from B: reply complete {elapsed:.2f}s after the question on A")
    assert reply["status"] == "complete" and reply["text"]
    assert on_b.texts.get(reply["id"]), "server B streamed no delta of the reply"
    assert on_b.final[reply["id"]]["text"] == reply["text"]
    assert not on_a.problems and not on_b.problems


def test_24_customers_over_both_servers_are_all_answered_by_both_workers(cluster: Cluster) -> None:
    before = cluster.replies_by_worker()

    async def one(index: int) -> tuple[Customer, list[dict[str, Any]]]:
        base = cluster.web_a if index % 2 == 0 else cluster.web_b
        conv = create_conversation(base)
        customer = Customer(conv)
        async with connect(ws_url(base, conv)) as ws:
            first = await ask(ws, customer, "Hello, how are you?")
            second = await ask(ws, customer, "Thank you, that helps")
        return customer, [first, second]

    async def everyone() -> list[tuple[Customer, list[dict[str, Any]]]]:
        return list(await asyncio.gather(*(one(i) for i in range(24))))

    started = time.monotonic()
    results = asyncio.run(everyone())
    elapsed = time.monotonic() - started
    after = cluster.replies_by_worker()
    work = {name: after.get(name, 0) - before.get(name, 0) for name in cluster.workers}
    print(f"24 customers x 2 turns over both servers: all answered in {elapsed:.1f}s; replies per worker {work}")
    replies = [reply for _, pair in results for reply in pair]
    assert len(replies) == 48 and all(r["status"] == "complete" and r["text"] for r in replies)
    assert all(not customer.problems for customer, _ in results), [c.problems for c, _ in results]
    assert all(count > 0 for count in work.values()), work


def test_a_worker_killed_mid_reply_is_taken_over_within_30_seconds(cluster: Cluster) -> None:
    async def scenario() -> tuple[list[Customer], list[dict[str, Any]], str, float, int]:
        customers = [Customer(create_conversation(cluster.web_a if i % 2 else cluster.web_b)) for i in range(12)]
        bases = [cluster.web_a if i % 2 else cluster.web_b for i in range(12)]
        async with asyncio.TaskGroup() as group:
            sockets = [await connect(ws_url(base, c.conversation)) for base, c in zip(bases, customers, strict=True)]
            client_ids = [str(uuid.uuid4()) for _ in customers]
            for ws, client_id in zip(sockets, client_ids, strict=True):
                await ws.send(json.dumps({"type": "message", "text": factories.KB_QUESTION, "client_id": client_id}))
            waits = [
                group.create_task(until_reply(ws, c, cid, timeout=120))
                for ws, c, cid in zip(sockets, customers, client_ids, strict=True)
            ]

            acked = 0
            while acked < len(customers):  # every message stored before a worker is chosen
                acked = await asyncio.to_thread(
                    lambda: cluster.sql(
                        "SELECT count(*) FROM conversations_message WHERE role = 'customer' "
                        "AND conversation_id = ANY(%s::uuid[])",
                        [c.conversation["id"] for c in customers],
                    )[0][0]
                )
                await asyncio.sleep(0.02)

            def victim_streaming() -> str | None:
                rows = cluster.sql(
                    "SELECT split_part(lease_owner, '@', 1), status FROM conversations_message "
                    "WHERE role = 'assistant' AND status IN ('pending', 'streaming') "
                    "AND conversation_id = ANY(%s::uuid[])",
                    [c.conversation["id"] for c in customers],
                )
                if any(status == "pending" for _, status in rows):
                    return None  # not while a worker is between taking a task and claiming it
                names = [name for name, _ in rows]
                return max(set(names), key=names.count) if names else None

            victim = await asyncio.to_thread(
                wait_until, victim_streaming, 60, "a worker streaming replies", interval=0.05
            )
            in_flight = sum(
                1
                for (name,) in cluster.sql(
                    "SELECT split_part(lease_owner, '@', 1) FROM conversations_message "
                    "WHERE role = 'assistant' AND status = 'streaming' AND conversation_id = ANY(%s::uuid[])",
                    [c.conversation["id"] for c in customers],
                )
                if name == victim
            )
            os.kill(cluster.workers[victim].pid, signal.SIGKILL)
            killed = time.monotonic()
            replies = [await w for w in waits]
            recovery = time.monotonic() - killed
            for ws in sockets:
                await ws.close()
        return customers, replies, victim, recovery, in_flight

    customers, replies, victim, recovery, in_flight = asyncio.run(scenario())
    cluster.workers[victim].wait()
    print(
        f"worker {victim} SIGKILLed with {in_flight} replies streaming: all 12 complete {recovery:.1f}s after the kill"
    )
    assert all(r["status"] == "complete" and r["text"] for r in replies)
    assert all(not c.problems for c in customers), [c.problems for c in customers]
    assert recovery <= 30


def test_a_customer_whose_server_is_lost_resumes_on_the_other_and_misses_nothing(cluster: Cluster) -> None:
    async def scenario() -> tuple[Customer, dict[str, Any], float]:
        conv = create_conversation(cluster.web_a)
        customer = Customer(conv)
        ws_a = await connect(ws_url(cluster.web_a, conv), close_timeout=1)
        await ask(ws_a, customer, "Hello, how are you?")
        client_id = str(uuid.uuid4())
        await ws_a.send(json.dumps({"type": "message", "text": "Thank you, that helps", "client_id": client_id}))
        while 3 not in customer.seen_seqs:  # the ack of the second question
            customer.on_frame(json.loads(await asyncio.wait_for(ws_a.recv(), 30)))
        cluster.web_procs[cluster.web_a].send_signal(signal.SIGKILL)  # server A is gone, mid-reply
        lost = time.monotonic()
        with contextlib.suppress(Exception):
            await ws_a.close()
        last_seen = max(customer.seen_seqs)
        async with connect(ws_url(cluster.web_b, conv)) as ws_b:
            await ws_b.send(json.dumps({"type": "resume", "after": last_seen}))
            end = time.monotonic() + 60
            while not any(m["seq"] == 4 for m in customer.final.values()):
                customer.on_frame(json.loads(await asyncio.wait_for(ws_b.recv(), max(0.1, end - time.monotonic()))))
        reply = next(m for m in customer.final.values() if m["seq"] == 4)
        return customer, reply, time.monotonic() - lost

    customer, reply, elapsed = asyncio.run(scenario())
    print(f"server A lost: the customer resumed on B and had the whole reply {elapsed:.2f}s later")
    assert reply["status"] == "complete" and reply["text"]
    assert {1, 2, 3, 4} <= customer.seen_seqs
    assert not customer.problems


def test_the_procfile_runs_the_command_lines_the_tests_run() -> None:
    """What a deployer runs is what this module (and `make run`) starts."""
    lines = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line and line[0] != "#"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PORT": "8000", "DATA_DIR": "/srv/parley", "LOG_LEVEL": "INFO"}

    def argv(name: str) -> list[str]:
        words = subprocess.run(
            ["bash", "-c", f"set -- {lines[name]}; printf '%s\\0' \"$@\""], env=env, capture_output=True, check=True
        ).stdout.decode()
        return ["python", *words.split("\0")[1:-1]]

    def ours(command: list[str]) -> list[str]:
        return ["python", *command[1:]]

    assert argv("web") == ours(runner.web_argv(host="0.0.0.0", port=8000))
    worker = argv("worker")
    assert worker[:-1] == ours(runner.worker_argv(queue="generation", concurrency=16, hostname="x"))[:-1]
    assert worker[-1].startswith("parley-") and worker[-1].endswith("@%h")  # one name per process
    assert argv("beat") == ours(runner.beat_argv(schedule="/srv/parley/celerybeat-schedule"))
    assert lines["release"] == "python manage.py migrate --noinput"
