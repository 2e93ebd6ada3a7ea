from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from conversations import streaming
from conversations.streaming import DeltaCoalescer, group_name
from tests import factories


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_piece_goes_out_at_once_then_pieces_are_gathered() -> None:
    clock = FakeClock()
    coalescer = DeltaCoalescer(0.04, clock=clock)
    assert coalescer.add("Hel") == ("Hel", 0)
    clock.now += 0.01
    assert coalescer.add("lo") is None
    clock.now += 0.01
    assert coalescer.add(",") is None
    clock.now += 0.03
    assert coalescer.add(" world") == ("lo, world", 3)
    clock.now += 0.001
    assert coalescer.add("!") is None
    assert coalescer.flush() == ("!", 12)
    assert coalescer.flush() is None


def test_deltas_add_up_to_the_whole_text() -> None:
    clock = FakeClock()
    coalescer = DeltaCoalescer(0.04, clock=clock)
    pieces = [f"w{i} " for i in range(50)]
    out = []
    for i, piece in enumerate(pieces):
        clock.now += 0.007 * (i % 3)
        sent = coalescer.add(piece)
        if sent:
            out.append(sent)
    tail = coalescer.flush()
    if tail:
        out.append(tail)
    assert "".join(t for t, _ in out) == "".join(pieces)
    offsets = [o for _, o in out]
    assert offsets == sorted(offsets) and offsets[0] == 0
    assert all(o == sum(len(t) for t, _ in out[:i]) for i, (_, o) in enumerate(out))


def test_group_names_are_valid_channel_names_and_stable() -> None:
    conversation_id = uuid.uuid4()
    name = group_name(conversation_id)
    assert name == group_name(str(conversation_id))
    assert len(name) < 100 and name.replace(".", "").replace("-", "").replace("_", "").isalnum()


@pytest.mark.django_db
def test_outbox_sends_whole_messages_in_order_without_the_caller_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    conv, _ = factories.conversation()
    messages = [factories.bot_reply(conv, seq, text=f"reply {seq}") for seq in range(1, 31)]
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(conv.id), channel)

    # While the layer is stuck, every publish returns (a customer's ack does not wait for it).
    release = threading.Event()
    sent: list[str] = []
    group_send = layer.group_send

    async def stuck_group_send(group: str, message: dict[str, object]) -> None:
        await asyncio.to_thread(release.wait, 2)
        await group_send(group, message)
        sent.append(group)

    monkeypatch.setattr(layer, "group_send", stuck_group_send)
    for message in messages:
        streaming.publish_message_soon(message)
    assert sent == []
    release.set()

    async def receive_all() -> list[str]:
        return [(await asyncio.wait_for(layer.receive(channel), 10))["message"]["text"] for _ in messages]

    assert async_to_sync(receive_all)() == [m.text for m in messages]
