"""Catch-up on the sockets, through the real ASGI app and the real Redis layer: a reply whose
live events are lost still reaches the customer and the watching console, once, whole."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from chatsite.asgi import application
from conversations import services, streaming
from conversations.models import Conversation, Message
from conversations.streaming import counts, delivery_counts
from tests import factories
from tests.conftest import run_queue

pytestmark = pytest.mark.django_db(transaction=True)

SILENCE_S = 0.5


@pytest.fixture(autouse=True)
def quick_catch_up(settings: Any) -> None:
    settings.REPLY_CATCHUP_SECONDS = SILENCE_S
    # The tests play the worker: their replies go to a queue that no worker of the run serves.
    settings.GENERATION_QUEUE = run_queue("no-worker")


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await communicator.receive_from(timeout=timeout))
    return frame


async def ask(conv: Conversation, token: str) -> tuple[WebsocketCommunicator, str]:
    """A customer socket that has sent a question and got its ack; returns the reply id."""
    communicator = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
    assert (await communicator.connect())[0]
    await communicator.send_to(
        text_data=json.dumps({"type": "message", "text": "How long is shipping?", "client_id": str(uuid.uuid4())})
    )
    ack = await receive(communicator)
    assert ack["type"] == "ack"
    return communicator, ack["reply_id"]


def finish_silently(reply_id: str, text: str) -> None:
    """Store the reply as the worker does, but lose its final event on the way."""
    Message.objects.filter(id=reply_id).update(status=Message.Status.COMPLETE, text=text, updated_at=timezone.now())


@pytest.mark.asyncio
async def test_a_reply_whose_final_event_is_lost_is_caught_up_once() -> None:
    before = await database_sync_to_async(delivery_counts)()
    conv, token = await database_sync_to_async(factories.conversation)()
    customer, reply_id = await ask(conv, token)
    layer = get_channel_layer()
    await layer.group_send(
        streaming.group_name(conv.id),
        {"type": streaming.EVENT_DELTA, "message_id": reply_id, "text": "We ship ", "offset": 0},
    )
    delta = await receive(customer)
    assert delta["text"] == "We ship " and "catch_up" not in delta
    started = time.monotonic()
    await database_sync_to_async(finish_silently)(reply_id, "We ship in 3 days.")
    caught = await receive(customer, timeout=5)
    # Caught up once it is overdue (stored SILENCE_S ago without its event), well within 5 s.
    assert SILENCE_S <= time.monotonic() - started < 5
    assert caught["type"] == "message" and caught["catch_up"] is True
    assert caught["message"]["id"] == reply_id and caught["message"]["text"] == "We ship in 3 days."
    # The event turns up after all: the customer does not get the reply twice.
    stored = await database_sync_to_async(Message.objects.get)(id=reply_id)
    await database_sync_to_async(lambda: services.common.publish_on_commit(stored))()
    assert await customer.receive_nothing(timeout=SILENCE_S * 3)
    after = await database_sync_to_async(delivery_counts)()
    assert after["catch_ups"][("customer", "message")] == before["catch_ups"][("customer", "message")] + 1
    assert after["late"]["customer"] == before["late"]["customer"] + 1
    await customer.disconnect()


@pytest.mark.asyncio
async def test_a_lost_delta_is_filled_in_from_the_stored_text_and_never_repeated() -> None:
    conv, token = await database_sync_to_async(factories.conversation)()
    customer, reply_id = await ask(conv, token)
    layer = get_channel_layer()
    group = streaming.group_name(conv.id)

    async def delta(text: str, offset: int) -> None:
        await layer.group_send(
            group, {"type": streaming.EVENT_DELTA, "message_id": reply_id, "text": text, "offset": offset}
        )

    await database_sync_to_async(services.reply_claim)(message_id=reply_id)
    await delta("We ship ", 0)
    assert (await receive(customer))["text"] == "We ship "
    # "in 3 " is lost; the worker has saved the text so far, as it does every second.
    await database_sync_to_async(services.reply_progress)(message_id=reply_id, text="We ship in 3 days")
    await delta("days", 13)
    filled = await receive(customer, timeout=5)
    assert filled == {"type": "delta", "message_id": reply_id, "text": "in 3 days", "offset": 8, "catch_up": True}
    await delta("days", 13)  # nothing new
    await delta(" and more.", 17)
    assert (await receive(customer)) == {"type": "delta", "message_id": reply_id, "text": " and more.", "offset": 17}
    await database_sync_to_async(services.reply_complete)(
        message_id=reply_id, text="We ship in 3 days and more.", meta={"model_name": "x"}
    )
    final = await receive(customer)  # live, or caught up if the machine is slow: once either way
    assert final["type"] == "message" and final["message"]["text"] == "We ship in 3 days and more."
    assert await customer.receive_nothing(timeout=SILENCE_S * 3)
    await customer.disconnect()


@pytest.mark.asyncio
async def test_a_superseded_reply_is_let_go_and_a_resumed_final_one_is_not_resent() -> None:
    conv, token = await database_sync_to_async(factories.conversation)()
    customer, first = await ask(conv, token)
    await customer.send_to(
        text_data=json.dumps({"type": "message", "text": "Actually, returns?", "client_id": str(uuid.uuid4())})
    )
    second = (await receive(customer))["reply_id"]
    assert not await database_sync_to_async(Message.objects.filter(id=first).exists)()
    await database_sync_to_async(finish_silently)(second, "Returns are free.")
    await customer.send_to(text_data=json.dumps({"type": "resume", "after": 0}))
    replayed = [await receive(customer) for _ in range(3)]
    assert [f["message"]["text"] for f in replayed][-1] == "Returns are free."
    assert await customer.receive_nothing(timeout=SILENCE_S * 3)  # neither reply is caught up
    await customer.disconnect()


@pytest.mark.asyncio
async def test_the_watching_console_gets_a_lost_final_message_too() -> None:
    user = await database_sync_to_async(User.objects.create_user)("sam", password="x", is_staff=True)
    staff = Client()
    await database_sync_to_async(staff.force_login)(user)
    cookie = [(b"cookie", f"sessionid={staff.cookies['sessionid'].value}".encode())]
    conv, token = await database_sync_to_async(factories.conversation)()
    console = WebsocketCommunicator(application, "/ws/staff/", headers=cookie)
    assert (await console.connect())[0]
    assert (await receive(console))["type"] == "inbox"
    await console.send_to(text_data=json.dumps({"type": "watch", "conversation_id": str(conv.id)}))
    while (await receive(console))["type"] != "conversation":
        pass
    customer, reply_id = await ask(conv, token)
    await database_sync_to_async(finish_silently)(reply_id, "We ship in 3 days.")
    deadline = time.monotonic() + 5
    while True:
        frame = await receive(console, timeout=max(0.1, deadline - time.monotonic()))
        if frame["type"] == "message" and frame["message"]["id"] == reply_id:
            break
    assert frame["catch_up"] is True and frame["conversation_id"] == str(conv.id)
    assert frame["message"]["text"] == "We ship in 3 days."
    await console.disconnect()
    await customer.disconnect()


def test_catch_ups_show_on_metrics_and_the_ops_page(admin_client: Client) -> None:
    counts.count_catch_up(socket="customer", kind="message")
    counts.count_late(socket="customer")
    metrics = admin_client.get("/metrics").content.decode()
    line = next(x for x in metrics.splitlines() if x.startswith('parley_reply_catchups_total{kind="message"'))
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert "parley_reply_late_events_total" in metrics
    page = admin_client.get("/ops/").content.decode()
    assert "Catch-ups" in page
