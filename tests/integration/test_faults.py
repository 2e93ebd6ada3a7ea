"""Faults on real processes: a worker SIGKILLed mid-reply, a model that will not load."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from websockets.sync.client import connect

from chatsite import embedded_redis, health
from chatsite.redisurl import embedded_url
from conversations.models import Conversation, Message
from generation import heartbeat
from tests import factories
from tests.conftest import run_queue, service_env, start_beat, start_web, start_worker, stop_process
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def route_replies_to(monkeypatch: pytest.MonkeyPatch, queue: str) -> None:
    """Send this test's generation tasks to its own workers' ``queue``."""
    monkeypatch.setattr("django.conf.settings.GENERATION_QUEUE", queue)


def wait_until_settled(reply_ids: list[str], timeout: float) -> list[Message]:
    def settled() -> list[Message] | None:
        rows = list(Message.objects.filter(id__in=reply_ids))
        return rows if all(r.status in (Message.Status.COMPLETE, Message.Status.FAILED) for r in rows) else None

    return wait_until(settled, timeout, f"replies {reply_ids} to complete or fail", interval=0.25)


def test_a_worker_killed_mid_reply_is_taken_over_within_seconds(
    monkeypatch: pytest.MonkeyPatch, tiny_model_path: Path, tmp_path: Path
) -> None:
    queue = run_queue("fault")
    env = service_env(
        tiny_model_path,
        REPLY_SWEEP_SECONDS="1",
        REPLY_LEASE_SECONDS="3",
        GENERATION_MAX_NEW_TOKENS="200",
    )
    route_replies_to(monkeypatch, queue)
    doomed_name = f"doomed-{uuid.uuid4().hex[:4]}"
    doomed = start_worker(env, queue=queue, name=doomed_name, concurrency=4)
    rescuer = start_worker(env, queue=queue, name=f"rescuer-{uuid.uuid4().hex[:4]}", concurrency=4)
    beat = start_beat(env, queue=queue, schedule=tmp_path / "celerybeat-schedule")
    try:
        # The worker's model writes these (small talk would get the bot's own line at once).
        factories.shipping_article()
        results = [factories.customer_message(factories.conversation()[0], factories.KB_QUESTION) for _ in range(8)]
        reply_ids = [str(r.reply.id) for r in results if r.reply]
        held = Message.objects.filter(id__in=reply_ids, status="streaming", lease_owner__startswith=doomed_name)
        # Killed while it streams a reply. A task it had taken but not begun is lost with it; the
        # sweep enqueues that pending reply again once the queue is idle (2 sweeps, 2 s here).
        wait_until(held.exists, 30, "the doomed worker to stream", interval=0.02)
        os.kill(doomed.pid, signal.SIGKILL)  # no warm shutdown, no acks, no last write
        killed, killed_at = time.monotonic(), timezone.now()
        doomed.wait()
        lost = {
            m.id: m.text
            for m in Message.objects.filter(id__in=reply_ids, status="streaming", lease_owner__startswith=doomed_name)
        }
        replies = wait_until_settled(reply_ids, timeout=60)
        recovery = time.monotonic() - killed
    finally:
        stop_process(beat)
        stop_process(rescuer)
    taken_over = sorted((r.claimed_at - killed_at).total_seconds() for r in replies if r.id in lost and r.claimed_at)
    print(
        f"{len(lost)} replies in flight on the killed worker, taken over {', '.join(f'{t:.1f}' for t in taken_over)}s "
        f"after the kill; all settled {recovery:.1f}s after it"
    )
    assert lost and recovery <= 30
    assert all(reply.status == Message.Status.COMPLETE and reply.text for reply in replies)
    for reply in replies:
        if reply.id in lost:
            assert reply.attempts == 2 and reply.text.startswith(lost[reply.id].strip())
    assert Message.objects.filter(role="customer", id__in=[r.message.id for r in results]).count() == 8


def test_a_model_that_fails_to_load_fails_replies_cleanly_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tiny_model_path: Path, client: Client
) -> None:
    queue = run_queue("broken")
    env = service_env(tiny_model_path, GENERATION_MODEL="/nonexistent/model-that-is-not-there")
    route_replies_to(monkeypatch, queue)
    worker = start_worker(env, queue=queue, name=f"broken-{uuid.uuid4().hex[:4]}", concurrency=2)
    try:
        conv, _ = factories.conversation()
        result = factories.customer_message(conv, "Hello, how are you?")
        assert result.reply is not None
        [reply] = wait_until_settled([str(result.reply.id)], timeout=60)
        beats = [b for b in heartbeat.beats() if b["name"].startswith("broken-")]
    finally:
        stop_process(worker)
    assert reply.status == Message.Status.FAILED and reply.handoff
    assert "could not load model" in reply.error
    conv.refresh_from_db()
    assert conv.status == Conversation.Status.NEEDS_HUMAN
    # The worker reports it on its heartbeat (the ops page and /readyz read it).
    assert beats and "nonexistent" in beats[0]["load_error"]


def test_readyz_fails_when_every_worker_failed_to_load_its_model(
    monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    monkeypatch.setattr(health.heartbeat, "beats", lambda: [{"name": "w1@h", "load_error": "OSError: no such model"}])
    response = client.get("/readyz")
    assert response.status_code == 503 and "failed to load" in response.json()["checks"]["model"]
    monkeypatch.setattr(health.heartbeat, "beats", lambda: [{"name": "w1@h", "load_error": ""}])
    assert client.get("/readyz").status_code == 200


def test_a_message_stored_while_redis_was_down_is_answered_after_it_restarts(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pr-", dir="/tmp"))  # short: it holds a Unix socket
    model = tmp_path / "model-of-the-restart-test"
    shutil.copytree(tiny_model_path, model)
    redis_proc = embedded_redis.start(data_dir)
    assert redis_proc is not None
    url = embedded_url(data_dir)
    env = service_env(model, REDIS_URL=url, REPLY_SWEEP_SECONDS="1", REPLY_REQUEUE_SECONDS="4")
    queue = run_queue("restart")
    worker = start_worker(env, queue=queue, name=f"survivor-{uuid.uuid4().hex[:4]}", redis_url=url)
    beat = start_beat(env, queue=queue, schedule=data_dir / "celerybeat-schedule")
    try:
        os.kill(redis_proc.pid, signal.SIGKILL)  # Redis dies without a word
        redis_proc.wait()
        redis_proc = None
        time.sleep(1)
        # Accepted while Redis was down: stored, but no task could be enqueued.
        factories.shipping_article()
        conv, _ = factories.conversation()
        reply = factories.unqueued_reply(conv, factories.KB_QUESTION)
        time.sleep(2)
        redis_proc = embedded_redis.start(data_dir)
        started = time.monotonic()
        [done] = wait_until_settled([str(reply.id)], timeout=90)
        print(f"answered {time.monotonic() - started:.1f}s after Redis came back")
    finally:
        stop_process(beat)
        stop_process(worker)
        embedded_redis.stop(redis_proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert done.status == Message.Status.COMPLETE and done.text
    assert done.model_name.endswith("model-of-the-restart-test")  # the reconnected worker answered it


def test_the_asgi_server_and_worker_serve_new_sockets_after_redis_restarts(tiny_model_path: Path) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pa-", dir="/tmp"))
    redis_proc = embedded_redis.start(data_dir)
    url = embedded_url(data_dir)
    queue = run_queue("asgi-restart")
    env = {**service_env(tiny_model_path, REDIS_URL=url), "GENERATION_QUEUE": queue}
    worker = start_worker(env, queue=queue, name=f"asgi-{uuid.uuid4().hex[:4]}", redis_url=url)
    web, base = start_web(env, log_name="test-web-redis-restart.log")

    def chat(text: str) -> dict[str, Any]:
        request = urllib.request.Request(
            base + "/api/conversations/", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            conv = json.loads(response.read())
        with connect(conv["ws_url"], open_timeout=10) as ws:
            ws.send(json.dumps({"type": "message", "text": text, "client_id": str(uuid.uuid4())}))
            while True:
                frame = json.loads(ws.recv(timeout=60))
                if frame["type"] == "message" and frame["message"]["role"] == "assistant":
                    return frame["message"]

    try:
        assert chat("Hello, how are you?")["status"] == "complete"
        assert redis_proc is not None
        os.kill(redis_proc.pid, signal.SIGKILL)
        redis_proc.wait()
        time.sleep(1)
        redis_proc = embedded_redis.start(data_dir)
        started = time.monotonic()
        after = chat("Hello again, are you there?")
        print(f"served a new socket end to end {time.monotonic() - started:.1f}s after Redis came back")
    finally:
        stop_process(web)
        stop_process(worker)
        embedded_redis.stop(redis_proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert after["status"] == "complete" and after["text"]
