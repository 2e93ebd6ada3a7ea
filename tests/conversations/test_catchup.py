"""ReplyTracker: live events and catch-ups together give a client each reply's text once,
never taking any back."""

from __future__ import annotations

from typing import Any

from conversations.payloads import MessagePayload, StoredReply
from conversations.streaming import ReplyTracker

REPLY = "3f2a1c44-5b6d-4e7f-8a9b-0c1d2e3f4a5b"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def payload(text: str, status: str = "streaming", reply_id: str = REPLY) -> MessagePayload:
    return {
        "id": reply_id,
        "seq": 2,
        "role": "assistant",
        "text": text,
        "status": status,
        "created_at": "2026-11-30T00:00:00+00:00",
        "sources": [],
        "grounded": True,
        "handoff": False,
        "mode": "model",
        "author_name": "",
    }


def stored(text: str, status: str = "streaming", *, quiet_s: float = 5.0) -> StoredReply:
    return {"conversation_id": "c", "message": payload(text, status), "quiet_s": quiet_s}


def tracker() -> tuple[ReplyTracker, Clock]:
    clock = Clock()
    return ReplyTracker(silence_s=2.0, clock=clock), clock


def text_of(frames: list[Any]) -> str:
    """What a client that places deltas by offset shows."""
    shown = ""
    for frame in frames:
        if frame is None:
            continue
        if frame["type"] == "delta":
            assert frame["offset"] == len(shown), "a delta must start where the client's text ends"
            shown += frame["text"]
        else:
            assert frame["message"]["text"].startswith(shown)
            shown = frame["message"]["text"]
    return shown


def test_a_reply_that_falls_silent_is_due_and_a_live_delta_keeps_it_quiet() -> None:
    replies, clock = tracker()
    replies.expect(REPLY)
    assert replies.due() == [] and replies.next_due_in() == 2.0
    clock.now += 1.5
    replies.delta(REPLY, "Hello", 0)
    clock.now += 1.5
    assert replies.due() == []
    clock.now += 0.5
    assert replies.due() == [REPLY]


def test_a_lost_final_message_is_caught_up_once_and_the_late_event_is_dropped() -> None:
    replies, clock = tracker()
    replies.expect(REPLY)
    frames: list[Any] = [replies.delta(REPLY, "We ship ", 0), replies.delta(REPLY, "in 3 days", 8)]
    clock.now += 2
    caught = replies.catch_up(REPLY, stored("We ship in 3 days.", "complete"))
    assert caught is not None and caught.get("catch_up")
    frames.append(caught)
    assert text_of(frames) == "We ship in 3 days."
    assert not replies.waiting
    assert replies.message(payload("We ship in 3 days.", "complete")) == "late"
    assert replies.catch_up(REPLY, stored("We ship in 3 days.", "complete")) is None


def test_a_lost_delta_is_held_back_and_its_text_comes_from_the_store() -> None:
    replies, _ = tracker()
    replies.expect(REPLY)
    frames: list[Any] = [replies.delta(REPLY, "We ship ", 0)]
    # "in 3 " was lost: the next delta would leave a hole, so it waits and the reply is due now.
    assert replies.delta(REPLY, "days", 13) is None
    assert replies.due() == [REPLY]
    frames.append(replies.catch_up(REPLY, stored("We ship in 3 days and", "streaming", quiet_s=0.1)))
    # Live deltas go on, trimmed to what the client lacks.
    assert replies.delta(REPLY, "days", 13) is None
    frames.append(replies.delta(REPLY, " and more", 17))
    assert replies.message(payload("We ship in 3 days and more", "complete")) == "forward"
    frames.append({"type": "message", "message": payload("We ship in 3 days and more", "complete")})
    assert text_of(frames) == "We ship in 3 days and more"
    assert replies.message(payload("We ship in 3 days and more", "complete")) == "duplicate"


def test_stored_text_behind_the_client_sends_nothing_and_a_gone_reply_is_forgotten() -> None:
    replies, _ = tracker()
    replies.expect(REPLY, have=10)
    assert replies.catch_up(REPLY, stored("0123")) is None
    assert replies.waiting
    assert replies.catch_up(REPLY, None) is None
    assert not replies.waiting


def test_replies_replayed_final_are_not_sent_again() -> None:
    replies, _ = tracker()
    replies.finished(REPLY)
    replies.expect(REPLY)
    assert not replies.waiting
    assert replies.delta(REPLY, "x", 0) is None
    assert replies.message(payload("x", "complete")) == "duplicate"


def test_a_reply_first_heard_of_by_its_delta_is_forwarded_and_awaited() -> None:
    replies, clock = tracker()
    frame = replies.delta(REPLY, "tail", 20)
    assert frame == {"type": "delta", "message_id": REPLY, "text": "tail", "offset": 20}
    clock.now += 2
    assert replies.due() == [REPLY]


def test_a_final_message_stored_a_moment_ago_waits_for_its_event() -> None:
    replies, clock = tracker()
    replies.expect(REPLY, have=4)
    clock.now += 2
    assert replies.catch_up(REPLY, stored("Done.", "complete", quiet_s=0.5)) is None
    assert replies.next_due_in() == 1.5  # overdue 2 s after it was stored
    assert replies.message(payload("Done.", "complete")) == "forward"  # and here it is
    assert not replies.waiting


def test_text_of_a_stream_in_progress_is_left_to_its_deltas_but_a_stalled_one_is_caught_up() -> None:
    replies, clock = tracker()
    replies.expect(REPLY)
    clock.now += 2
    assert replies.catch_up(REPLY, stored("We ship", quiet_s=0.4)) is None
    clock.now += 2
    frame = replies.catch_up(REPLY, stored("We ship", quiet_s=2.4))
    assert frame == {"type": "delta", "message_id": REPLY, "text": "We ship", "offset": 0, "catch_up": True}
