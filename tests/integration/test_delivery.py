"""Every stored reply reaches the customer, on the real stack (Uvicorn, the Redis channel
layer, a Celery worker with the tiny model), when the web process's channel layer loses the
reply's events: the customer still sees the whole reply within 5 s of it being stored, once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async

from conversations.models import Message
from tests import factories
from tests.conftest import service_env, start_web, stop_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker_process")]

CATCH_UP_WITHIN_S = 5.0


@pytest.fixture(scope="module", params=["final", "delta:2,final", "delta:1"])
def lossy_server(
    request: pytest.FixtureRequest, django_db_blocker: Any, tiny_model_path: Path
) -> Iterator[tuple[str, str]]:
    """Uvicorn serving the app with a channel layer that loses ``request.param``'s events
    (tests/integration/lossy_asgi.py), beside the session's worker; its URL and that rule."""
    with django_db_blocker.unblock():
        env = service_env(tiny_model_path, PARLEY_TEST_DROP=request.param)
    proc, url = start_web(env, log_name="test-web-lossy.log", app="tests.integration.lossy_asgi:application")
    try:
        yield url, request.param
    finally:
        stop_process(proc)


async def ask(url: str, conv_id: str, token: str, question: str) -> tuple[str, list[dict[str, Any]], float]:
    """Ask over a real websocket; the reply id, every frame about it, and when its final came."""
    ws_url = url.replace("http", "ws") + f"/ws/conversations/{conv_id}/?token={token}"
    frames: list[dict[str, Any]] = []
    async with websockets.connect(ws_url, origin=url, compression=None) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "message", "text": question, "client_id": str(uuid.uuid4())}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "ack"
        reply_id = ack["reply_id"]
        deadline = time.monotonic() + 60
        final_at = 0.0
        while not final_at or time.monotonic() < final_at + 2.5:  # then nothing more may come
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            frames.append(frame)
            if frame["type"] == "message" and frame["message"]["id"] == reply_id and not final_at:
                final_at = time.time()
                deadline = time.monotonic() + 2.5
    return reply_id, frames, final_at


def shown(frames: list[dict[str, Any]], reply_id: str) -> tuple[str, int]:
    """The text a client shows of ``reply_id`` (deltas placed by offset, then the final
    message), checking that nothing is ever taken back; and how many finals came."""
    text, finals = "", 0
    for frame in frames:
        if frame["type"] == "delta" and frame["message_id"] == reply_id:
            offset, piece = frame["offset"], frame["text"]
            assert offset <= len(text), "a delta past the text the client has"
            if offset + len(piece) > len(text):
                text = text[:offset] + piece
        elif frame["type"] == "message" and frame["message"]["id"] == reply_id:
            assert frame["message"]["text"].startswith(text.rstrip()), "the final message takes back streamed text"
            text, finals = frame["message"]["text"], finals + 1
    return text, finals


@pytest.mark.asyncio
async def test_a_reply_whose_events_are_lost_reaches_the_customer_within_5_s(lossy_server: tuple[str, str]) -> None:
    url, rule = lossy_server
    conv, token = await database_sync_to_async(factories.conversation)()
    reply_id, frames, final_at = await ask(url, str(conv.id), token, "Hello, how are you?")
    assert final_at, f"the reply never reached the customer: {frames}"
    reply = await database_sync_to_async(Message.objects.get)(id=reply_id)
    assert reply.status == Message.Status.COMPLETE
    stored_at = reply.created_at + timedelta(milliseconds=(reply.queued_ms or 0) + (reply.generation_ms or 0))
    assert final_at - stored_at.timestamp() < CATCH_UP_WITHIN_S
    text, finals = shown(frames, reply_id)
    assert finals == 1 and text == reply.text
    final = next(f for f in frames if f["type"] == "message" and f["message"]["id"] == reply_id)
    if "final" in rule:  # otherwise it comes live, or by catch-up when a lost delta was checked late
        assert final.get("catch_up") is True
