"""The worker's reply loop: what it records of the text shown, and when."""

from __future__ import annotations

from typing import Any

import pytest

from conversations import services, shown
from generation import replying
from tests import factories

pytestmark = pytest.mark.django_db


def test_each_delta_is_recorded_before_it_is_published_in_one_round_trip(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STREAM_COALESCE_MS = 60_000  # every piece after the first waits for the flush
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        reply = factories.customer_message(conv, "Where do you ship to?").reply
    assert reply is not None
    claimed = services.reply_claim(message_id=str(reply.id), owner="w1")
    assert claimed is not None
    lease = services.ReplyLease(message_id=str(reply.id), owner="w1")
    appends: list[str] = []
    real_append = shown.record_append

    def counting_append(message_id: str, text: str) -> bool:
        appends.append(text)
        return real_append(message_id, text)

    published: list[tuple[str, str]] = []

    def publish(conversation_id: str, message_id: str, text: str, offset: int) -> None:
        # What the customer is about to see is already in the record.
        published.append((text, shown.shown_text(message_id, "")))

    monkeypatch.setattr(shown, "record_append", counting_append)
    monkeypatch.setattr(replying.streaming, "publish_delta", publish)
    publisher = replying._Publisher(claimed, record=lease.record)
    forward = lease.forward_to(publisher, record=False)
    for piece in ("We", " ship", " to", " the", " US", " and", " Canada."):
        forward(piece)
    publisher.flush()
    assert [text for text, _ in published] == ["We", " ship to the US and Canada."]
    assert [record for _, record in published] == ["We", "We ship to the US and Canada."]
    assert appends == ["We", " ship to the US and Canada."]  # a round trip a delta, not a word
