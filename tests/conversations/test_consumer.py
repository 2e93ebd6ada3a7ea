"""The customer websocket, driven through the real ASGI app over the real Redis layer."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator

from chatsite.asgi import application
from conversations import services
from conversations.models import Conversation, Message
from tests import factories

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def connect(conversation_id: str, token: str, origin: bytes | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", origin)] if origin else []
    communicator = WebsocketCommunicator(
        application, f"/ws/conversations/{conversation_id}/?token={token}", headers=headers
    )
    return communicator


async def new_conversation() -> tuple[str, str]:
    conv, token = await database_sync_to_async(factories.conversation)()
    return str(conv.id), token


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await communicator.receive_from(timeout=timeout))
    return frame


async def test_unknown_conversation_closes_4404_and_wrong_token_4401() -> None:
    conversation_id, token = await new_conversation()
    communicator = await connect(str(uuid.uuid4()), token)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_output(timeout=5))["code"] == 4404
    communicator = await connect(conversation_id, "wrong")
    await communicator.connect()
    assert (await communicator.receive_output(timeout=5))["code"] == 4401


async def test_message_is_stored_before_ack_and_bad_frames_leave_the_socket_usable() -> None:
    conversation_id, token = await new_conversation()
    communicator = await connect(conversation_id, token)
    assert (await communicator.connect())[0]
    for bad, code in [
        ("not json", "invalid"),
        (json.dumps([1]), "invalid"),
        (json.dumps({"type": "shout"}), "invalid"),
        (json.dumps({"type": "message", "text": "hi"}), "invalid"),
        (json.dumps({"type": "message", "text": "x" * 4001, "client_id": str(uuid.uuid4())}), "too_long"),
        (json.dumps({"type": "resume", "after": "zero"}), "invalid"),
        ("x" * 70000, "too_long"),
    ]:
        await communicator.send_to(text_data=bad)
        frame = await receive(communicator)
        assert frame["type"] == "error" and frame["code"] == code, bad[:40]
    client_id = str(uuid.uuid4())
    await communicator.send_to(
        text_data=json.dumps({"type": "message", "text": "Hello, how are you?", "client_id": client_id})
    )
    ack = await receive(communicator)
    assert ack["type"] == "ack" and ack["client_id"] == client_id
    assert ack["message"]["text"] == "Hello, how are you?" and ack["message"]["seq"] == 1
    stored = await database_sync_to_async(Message.objects.get)(id=ack["message"]["id"])
    assert stored.text == "Hello, how are you?" and str(stored.client_id) == client_id
    assert await database_sync_to_async(Message.objects.count)() == 2  # customer + pending reply
    await communicator.disconnect()


async def test_resending_the_same_client_id_acks_the_same_message() -> None:
    conversation_id, token = await new_conversation()
    communicator = await connect(conversation_id, token)
    await communicator.connect()
    frame = json.dumps({"type": "message", "text": "Hi", "client_id": str(uuid.uuid4())})
    await communicator.send_to(text_data=frame)
    first = await receive(communicator)
    await communicator.send_to(text_data=frame)
    second = await receive(communicator)
    assert first["message"]["id"] == second["message"]["id"]
    assert await database_sync_to_async(Message.objects.filter(role="customer").count)() == 1
    await communicator.disconnect()


async def test_resume_replays_every_message_after_seq() -> None:
    conv, token = await database_sync_to_async(factories.conversation)(status="human")
    for text in ("one", "two", "three"):
        await database_sync_to_async(factories.customer_message)(conv, text)
    communicator = await connect(str(conv.id), token)
    await communicator.connect()
    await communicator.send_to(text_data=json.dumps({"type": "resume", "after": 1}))
    frames = [await receive(communicator) for _ in range(2)]
    assert [(f["type"], f["message"]["seq"], f["message"]["text"]) for f in frames] == [
        ("message", 2, "two"),
        ("message", 3, "three"),
    ]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_final_messages_published_by_services_reach_the_socket_through_redis() -> None:
    # A person holds the conversation, so no worker of the test session takes the reply first:
    # this test plays the worker.
    conv, token = await database_sync_to_async(factories.conversation)(status="human")
    communicator = await connect(str(conv.id), token)
    await communicator.connect()
    await database_sync_to_async(factories.customer_message)(conv, "Hello")
    reply = await database_sync_to_async(Message.objects.create)(
        conversation=conv, seq=2, role="assistant", status="pending", text=""
    )
    await database_sync_to_async(Conversation.objects.filter(pk=conv.pk).update)(last_seq=2)
    reply_id = str(reply.id)
    assert await database_sync_to_async(services.reply_claim)(message_id=reply_id) is not None
    await database_sync_to_async(services.reply_complete)(
        message_id=reply_id, text="Hi there!", meta={"model_name": "x"}
    )
    frame = await receive(communicator)
    # The customer's own message is not echoed; the assistant's final message is.
    assert frame["type"] == "message"
    assert frame["message"]["id"] == reply_id and frame["message"]["text"] == "Hi there!"
    await communicator.disconnect()


async def test_pages_of_other_sites_cannot_open_the_socket() -> None:
    conversation_id, token = await new_conversation()
    evil = await connect(conversation_id, token, origin=b"https://evil.example")
    connected, _ = await evil.connect()
    assert not connected
    ours = await connect(conversation_id, token, origin=b"http://localhost:8000")
    connected, _ = await ours.connect()
    assert connected
    await ours.disconnect()


@pytest.mark.slow
async def test_an_idle_socket_survives_a_minute_and_still_gets_events() -> None:
    """redis-py's socket timeouts once killed idle consumers every few seconds (channels_redis#422)."""
    conv, token = await database_sync_to_async(factories.conversation)(status="human")
    communicator = await connect(str(conv.id), token)
    assert (await communicator.connect())[0]
    await asyncio.sleep(65)
    reply = await database_sync_to_async(Message.objects.create)(
        conversation=conv, seq=1, role="assistant", status="streaming", text=""
    )
    await database_sync_to_async(Conversation.objects.filter(pk=conv.pk).update)(last_seq=1)
    await database_sync_to_async(services.reply_complete)(message_id=str(reply.id), text="Still here", meta={})
    frame = await receive(communicator, timeout=10)
    assert frame["type"] == "message" and frame["message"]["text"] == "Still here"
    await communicator.send_to(text_data=json.dumps({"type": "message", "text": "hi", "client_id": str(uuid.uuid4())}))
    assert (await receive(communicator))["type"] == "ack"
    await communicator.disconnect()
