"""The whole loop on real parts: ASGI app over the Redis channel layer, a real Celery worker
process generating with a real tiny transformers model, and the test database.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from chatsite.asgi import application
from conversations import dispatch
from conversations.models import Conversation, Message
from conversations.tasks import sweep_stuck_replies
from tests import factories
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker_process")]


async def open_socket(conv: Conversation, token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def collect_reply(
    communicator: WebsocketCommunicator, timeout: float = 60
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    deltas: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await communicator.receive_from(timeout=max(0.1, deadline - time.monotonic())))
        if frame["type"] == "delta":
            deltas.append(frame)
        elif frame["type"] == "message" and frame["message"]["role"] == "assistant":
            return deltas, frame["message"]


@pytest.mark.asyncio
async def test_reply_streams_over_the_websocket_and_deltas_add_up_to_the_stored_text() -> None:
    await database_sync_to_async(factories.shipping_article)()
    conv, token = await database_sync_to_async(factories.conversation)()
    communicator = await open_socket(conv, token)
    client_id = str(uuid.uuid4())
    await communicator.send_to(
        text_data=json.dumps({"type": "message", "text": factories.KB_QUESTION, "client_id": client_id})
    )
    ack = json.loads(await communicator.receive_from(timeout=10))
    assert ack["type"] == "ack" and ack["client_id"] == client_id
    deltas, final = await collect_reply(communicator)
    assert final["status"] == "complete" and final["text"]
    # Streamed: deltas before the final message. How many depends on the model's speed against
    # the 40 ms coalescing (the tiny test model can finish inside one window; the coalescing
    # itself is unit-tested in tests/conversations/test_streaming.py).
    assert len(deltas) >= 1, "the reply should stream before the final message"
    assert {d["message_id"] for d in deltas} == {final["id"]}
    assert "".join(d["text"] for d in deltas) == final["text"]
    assert [d["offset"] for d in deltas] == [sum(len(x["text"]) for x in deltas[:i]) for i in range(len(deltas))]
    stored = await database_sync_to_async(Message.objects.get)(id=final["id"])
    assert stored.text == final["text"] and stored.status == Message.Status.COMPLETE
    assert stored.seq == ack["message"]["seq"] + 1
    assert stored.model_name and stored.completion_tokens and stored.prompt_tokens
    assert stored.first_token_ms is not None and stored.generation_ms is not None
    # Stored -> first delta sent spans the engine's own first token and the work around it.
    assert stored.first_delta_ms is not None and stored.first_delta_ms >= stored.first_token_ms
    await communicator.disconnect()

    # A reload: a new socket resumes from 0 and gets the whole conversation back.
    again = await open_socket(conv, token)
    await again.send_to(text_data=json.dumps({"type": "resume", "after": 0}))
    frames = [json.loads(await again.receive_from(timeout=5)) for _ in range(2)]
    assert [(f["message"]["role"], f["message"]["text"]) for f in frames] == [
        ("customer", factories.KB_QUESTION),
        ("assistant", final["text"]),
    ]
    await again.disconnect()


@pytest.mark.asyncio
async def test_many_conversations_at_once_each_get_their_own_reply() -> None:
    pairs = [await database_sync_to_async(factories.conversation)() for _ in range(6)]
    sockets = [await open_socket(conv, token) for conv, token in pairs]
    questions = ["Hello", "Thank you", "Who are you?", "Goodbye", "Hi there, can you help me?", "ok"]
    for communicator, text in zip(sockets, questions, strict=True):
        await communicator.send_to(
            text_data=json.dumps({"type": "message", "text": text, "client_id": str(uuid.uuid4())})
        )
    for communicator in sockets:
        assert json.loads(await communicator.receive_from(timeout=10))["type"] == "ack"
    results = await asyncio.gather(*(collect_reply(c) for c in sockets))
    for (conv, _), (deltas, final) in zip(pairs, results, strict=True):
        assert "".join(d["text"] for d in deltas) == final["text"]
        stored = await database_sync_to_async(Message.objects.get)(id=final["id"])
        assert stored.conversation_id == conv.id and stored.text == final["text"]
    for communicator in sockets:
        await communicator.disconnect()


def test_polling_clients_get_the_reply_over_http(client: Client) -> None:
    created = client.post("/api/conversations/", data="{}", content_type="application/json").json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    url = f"/api/conversations/{created['id']}/messages/"
    body = json.dumps({"text": "Hello, how are you?", "client_id": str(uuid.uuid4())})
    assert client.post(url, data=body, content_type="application/json", headers=headers).status_code == 202

    def answered() -> list[dict[str, Any]] | None:
        messages = client.get(url + "?after=1", headers=headers).json()["messages"]
        return messages if messages and messages[0]["status"] == "complete" else None

    messages = wait_until(answered, 60, "the reply, by polling")
    assert messages[0]["role"] == "assistant" and messages[0]["status"] == "complete" and messages[0]["text"]


def completed(reply: Message) -> Message:
    def done() -> Message | None:
        row = Message.objects.get(id=reply.id)
        return row if row.status == Message.Status.COMPLETE else None

    return wait_until(done, 60, f"reply {reply.id} to complete")


def test_a_completed_reply_is_never_generated_twice() -> None:
    conv, _ = factories.conversation()
    reply = factories.customer_message(conv, "Hello").reply
    assert reply is not None
    done = completed(reply)
    dispatch.reply_generate(str(reply.id))  # a duplicate delivery
    # A later reply on the same queue, enqueued after the duplicate: once it is answered, the
    # worker has taken the duplicate too.
    later = factories.customer_message(factories.conversation()[0], "Thank you").reply
    assert later is not None
    completed(later)
    again = Message.objects.get(id=reply.id)
    assert again.text == done.text and again.attempts == 1 and again.updated_at == done.updated_at


def test_readyz_is_green_with_a_worker(client: Client, celery_worker_process: subprocess.Popen[bytes]) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["workers"]


def test_a_reply_whose_task_was_lost_is_swept_up_and_answered() -> None:
    conv, _ = factories.conversation()
    # As if the broker had been down when the message was stored: no task exists.
    reply = factories.unqueued_reply(conv)
    Message.objects.filter(id=reply.id).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert sweep_stuck_replies() == 1
    assert completed(reply).text
    assert sweep_stuck_replies() == 0


@pytest.mark.asyncio
async def test_staff_get_the_bots_suggested_replies_live() -> None:
    staff = Client()
    user = await database_sync_to_async(User.objects.create_user)("sam", password="pw-123456-long", is_staff=True)
    await database_sync_to_async(staff.force_login)(user)
    await database_sync_to_async(factories.shipping_article)()
    conv, _ = await database_sync_to_async(factories.conversation)(status="human")
    await database_sync_to_async(factories.customer_message)(conv, factories.KB_QUESTION)
    console = WebsocketCommunicator(
        application, "/ws/staff/", headers=[(b"cookie", f"sessionid={staff.cookies['sessionid'].value}".encode())]
    )
    assert (await console.connect())[0]
    await console.send_to(text_data=json.dumps({"type": "watch", "conversation_id": str(conv.id)}))
    # The console shows the conversation (it is watched from then on) before an agent can ask.
    while json.loads(await console.receive_from(timeout=10))["type"] != "conversation":
        pass
    response = await database_sync_to_async(staff.post)(f"/api/staff/conversations/{conv.id}/suggestions/")
    assert response.status_code == 202
    deadline = time.monotonic() + 60
    while True:
        frame = json.loads(await console.receive_from(timeout=max(0.1, deadline - time.monotonic())))
        if frame["type"] == "suggestions":
            break
    assert frame["conversation_id"] == str(conv.id)
    assert frame["suggestions"] and all(isinstance(s, str) and s for s in frame["suggestions"])
    assert "$19.95" in frame["suggestions"][0]  # a draft with the knowledge base's fact
    # Suggestions are for staff only: nothing was sent to the customer.
    assert await database_sync_to_async(Message.objects.filter(conversation=conv).count)() == 1
    await console.disconnect()
