"""Property-based: arbitrary frames and bodies never break the socket, never 500, never lose or
double a valid message."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsite.asgi import application
from conversations.models import Conversation, Message
from tests import factories

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
frames = st.one_of(
    st.text(min_size=1, max_size=200),  # (the test client cannot send an empty frame)
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "resume", "stop", "feedback", "rate", "nope"])},
        optional={
            "text": json_values,
            "client_id": json_values,
            "after": json_values,
            "stars": json_values,
            "message_id": json_values,
        },
    ).map(json.dumps),
)
HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture
def human_conversation(transactional_db: None) -> tuple[Conversation, str]:
    return factories.conversation(status="human")  # no bot replies: only customer messages get stored


@HYPOTHESIS
@given(batch=st.lists(frames, max_size=8))
def test_arbitrary_frames_get_errors_and_the_socket_stays_usable(
    human_conversation: tuple[Conversation, str], batch: list[str]
) -> None:
    conv, token = human_conversation
    before = Message.objects.filter(conversation=conv).count()

    async def drive() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        communicator = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
        assert (await communicator.connect())[0]
        seen = []
        for frame in batch:
            await communicator.send_to(text_data=frame)
        # (receive_from's timeout would cancel the application: ask receive_nothing first)
        while not await communicator.receive_nothing(timeout=0.3):
            seen.append(json.loads(await communicator.receive_from(timeout=1)))
        client_id = str(uuid.uuid4())
        await communicator.send_to(
            text_data=json.dumps({"type": "message", "text": "still there?", "client_id": client_id})
        )
        while True:
            final = json.loads(await communicator.receive_from(timeout=5))
            if final["type"] == "ack":
                break
        await communicator.disconnect()
        return seen, final

    try:
        seen, final = async_to_sync(drive)()
    except BaseException as exc:  # CancelledError is a BaseException: let hypothesis shrink it
        raise AssertionError(f"the socket broke: {exc!r}") from exc
    assert all(f["type"] in ("error", "ack", "message") for f in seen)
    assert all(f["code"] in ("invalid", "too_long") for f in seen if f["type"] == "error")
    assert final["message"]["text"] == "still there?"
    acked = {f["message"]["id"] for f in seen if f["type"] == "ack"}
    stored = Message.objects.filter(conversation=conv).count()
    assert stored == before + len(acked) + 1


@HYPOTHESIS
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_arbitrary_bodies_never_break_the_api(human_conversation: tuple[Conversation, str], body: bytes) -> None:
    conv, token = human_conversation
    client = Client()
    before = set(Message.objects.filter(conversation=conv).values_list("id", flat=True))
    response = client.post(
        f"/api/conversations/{conv.id}/messages/",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (202, 400)
    after = set(Message.objects.filter(conversation=conv).values_list("id", flat=True))
    if response.status_code == 202:  # stored (or already stored under that client_id)
        assert uuid.UUID(response.json()["message"]["id"]) in after and len(after - before) <= 1
    else:
        assert after == before  # refused: nothing written
